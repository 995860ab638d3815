"""Which provisioners a site runs, from its settings, in the order onboarding needs them.

The home comes first (the profile is written into it), then S3/IAM, then the hub account.
Components a site has not configured (no users bucket, no hub API URL) are left out, so
`users add` works on a laptop against a directory alone.
"""

from __future__ import annotations

from pathlib import Path

from mlplatform.secrets import read_secret
from mlplatform.settings import Settings
from mlplatform.users.plan import Provisioner


def provisioners_for(settings: Settings) -> list[Provisioner]:
    from mlplatform.users.provision.aws import AwsProvisioner
    from mlplatform.users.provision.home import HomeProvisioner
    from mlplatform.users.provision.hub_account import HubAccountProvisioner, HubApi
    from mlplatform.users.provision.metaflow_profile import MetaflowProfileProvisioner

    home_root = Path(settings.efs.home_root)
    chain: list[Provisioner] = [
        HomeProvisioner(home_root),
        MetaflowProfileProvisioner(settings, home_root),
    ]
    if settings.users.users_bucket:
        chain.append(AwsProvisioner(settings, home_root))
    hub = settings.jupyterhub
    if hub.api_url:
        token = read_secret(
            "JupyterHub API token", hub.token_env, hub.token_secret, "jupyterhub.token_secret"
        )
        chain.append(HubAccountProvisioner(HubApi(hub.api_url, token)))
    return chain
