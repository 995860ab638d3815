"""Where the deployment checks find their tools, and how they run Terraform offline.

The Ansible tools and hadolint live in `.venv-deploy`, checkov in `.venv-checkov` (it ships
its own `hcl2` module, which breaks and is broken by python-hcl2 in the same environment);
`make test` builds both. Terraform cannot download providers here, so the checks point it at a
filesystem mirror holding hashicorp/aws through a generated CLI configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "deploy" / "terraform"
ANSIBLE_DIR = REPO / "deploy" / "ansible"
DEPLOY_BIN = REPO / ".venv-deploy" / "bin"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"

# Where Terraform images and hosts usually keep an offline provider mirror. An operator can
# name another with MLPLATFORM_TF_PROVIDER_MIRROR.
MIRROR_CANDIDATES = (
    Path("/opt/tf-plugins"),
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
)
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"


def deploy_tool(name: str) -> Path | None:
    path = DEPLOY_BIN / name
    return path if path.exists() else None


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def provider_mirror() -> Path | None:
    """The root of a filesystem mirror holding the AWS provider, or None."""
    named = os.environ.get("MLPLATFORM_TF_PROVIDER_MIRROR")
    for root in [Path(named)] if named else MIRROR_CANDIDATES:
        if any((root / AWS_PROVIDER).glob("*/*/terraform-provider-aws_*")):
            return root
    return None


def cli_config(mirror: Path, folder: Path) -> Path:
    """A CLI configuration that installs hashicorp providers from the mirror only."""
    path = folder / "terraformrc"
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
    )
    return path


def terraform_env(config: Path | None) -> dict[str, str]:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "NO_COLOR": "1"}
    if config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
