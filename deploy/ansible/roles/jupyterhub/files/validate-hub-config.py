"""Check a hub YAML file exactly as the hub will load it (mlplatform.hub.config).

Ansible's template task runs this on the new file before it replaces the old one, so a
mistake stops the play with one line naming the key, and the running hub keeps its config.
"""

import sys
from pathlib import Path

try:
    from mlplatform.errors import PlatformError
    from mlplatform.hub.config import load_hub_config
except ImportError as exc:
    sys.exit(f"cannot check the hub config: {exc} (is mlplatform installed in the hub venv?)")

try:
    load_hub_config(Path(sys.argv[1]))
except PlatformError as exc:
    sys.exit(exc.one_line())
