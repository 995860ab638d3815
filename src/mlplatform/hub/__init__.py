"""JupyterHub for the platform: the YAML model, the configurer, the LDAP+TOTP login.

`jupyterhub_config.py` calls `configure(c, path)`; `mlplatform users mfa` uses the TOTP
functions and secret stores. The authenticator (`mlplatform.hub.authenticator`) is not
imported here: it needs JupyterHub, which only the hub host installs (the `hub` extra).
"""

from mlplatform.hub.config import HubConfig, load_hub_config
from mlplatform.hub.configurer import configure
from mlplatform.hub.totp import (
    FileSecretStore,
    LdapSecretStore,
    TotpSecretStore,
    new_secret,
    provisioning_uri,
    verify,
)

__all__ = [
    "FileSecretStore",
    "HubConfig",
    "LdapSecretStore",
    "TotpSecretStore",
    "configure",
    "load_hub_config",
    "new_secret",
    "provisioning_uri",
    "verify",
]
