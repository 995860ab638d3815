# JupyterHub reads this file; everything it sets comes from one YAML file, applied by
# mlplatform.hub.configurer (unit-tested there). Edit the YAML, not this file.
import os

from mlplatform.errors import PlatformError
from mlplatform.hub.configurer import configure

# JupyterHub defines get_config() in the namespace it runs this file in.
c = get_config()  # type: ignore[name-defined]  # noqa: F821
try:
    configure(c, os.environ.get("MLPLATFORM_HUB_CONFIG", "/etc/jupyterhub/jupyterhub.yaml"))
except PlatformError as exc:  # one line in the journal, and no hub on a half-read config
    raise SystemExit(f"jupyterhub: {exc.one_line()}") from None
