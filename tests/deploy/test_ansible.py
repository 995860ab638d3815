"""Ansible: every role lints clean at the production profile, and the roles that can run on a
plain machine run for real against localhost, twice, the second run changing nothing.

The real runs use `connection: local` and put everything under the test's temporary folder:
configuration, state and log folders, the systemd units (never loaded: no service is managed),
a temporary fstab (written, never mounted), Ansible's own log and temp files. Nothing is
installed and nothing leaves the machine: the hub role's pip task is pointed at the virtual
environment running the tests, with every requirement pinned to the version already there and
pip told not to use an index, so a requirement it would have to download fails the run instead
of reaching the network; the migrations role talks to a stand-in of the metadata service's
migration service on 127.0.0.1 that answers its two endpoints as the real one does.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
ROLES_DIR = ANSIBLE_DIR / "roles"
DEPLOY_BIN = REPO / ".venv-deploy" / "bin"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())
EXPECTED_ROLES = {
    "cloudwatch_agent",
    "efs_mount",
    "freeipa_client",
    "jupyterhub",
    "metaflow_db_migrations",
    "metaflow_service",
}
ROLE_FILES = (
    "tasks/main.yml",
    "handlers/main.yml",
    "defaults/main.yml",
    "meta/main.yml",
    "meta/argument_specs.yml",
    "README.md",
)
# SPEC.md, "EFS mount" (plus the NFS version, written first).
EFS_OPTIONS = "nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport"
EFS_DNS = "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com"
LDAP_PASSWORD = "search-account-secret"
HUB_TOKEN = "user-manager-token-0123"
DB_PASSWORD = "db-secret-9876"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
# The hub venv's requirements, pinned by the test to what the running environment has.
HUB_DISTRIBUTIONS = (
    "jupyterhub",
    "jupyterhub-ldapauthenticator",
    "jupyterhub-idle-culler",
    "mlplatform",
)
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def deploy_tool(name: str) -> Path:
    path = DEPLOY_BIN / name
    if not path.exists():
        pytest.skip(
            f"SKIPPED: {path.relative_to(REPO)} is missing; `make test` installs the Ansible "
            "tools (deploy/tools/requirements-deploy.txt) into .venv-deploy"
        )
    return path


def ansible_env(work: Path) -> dict[str, str]:
    """Ansible's settings from deploy/ansible/ansible.cfg, with every file it writes in `work`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    return env | {
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        # ansible.cfg logs to /var/log/ansible.log: a test run logs beside its files instead.
        "ANSIBLE_LOG_PATH": str(work / "ansible.log"),
        "ANSIBLE_HOME": str(work / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(work / ".ansible" / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work / ".ansible" / "remote-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # A requirement that is not installed fails the run instead of being downloaded.
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


@dataclass
class Run:
    code: int
    output: str

    def recap(self, host: str = "localhost") -> dict[str, int]:
        for match in RECAP.finditer(self.output):
            if match["host"] == host:
                return {k: int(v) for k, v in match.groupdict().items() if k != "host"}
        raise AssertionError(f"no PLAY RECAP line for {host}:\n{self.output[-3000:]}")


def run_playbook(
    playbook: Path, inventory: Path, work: Path, extra_env: dict[str, str] | None = None
) -> Run:
    proc = subprocess.run(
        [str(deploy_tool("ansible-playbook")), "-i", str(inventory), str(playbook)],
        cwd=work,
        env=ansible_env(work) | (extra_env or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


def write_yaml(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def local_inventory(work: Path) -> Path:
    return write_yaml(
        work / "inventory.yml",
        {
            "all": {
                "hosts": {
                    "localhost": {
                        "ansible_connection": "local",
                        # Explicit: discovery can pick an interpreter that is broken here.
                        "ansible_python_interpreter": sys.executable,
                    }
                }
            }
        },
    )


# --- The layout and the variables, read statically --------------------------------------------


def test_every_role_is_there_in_the_canonical_layout() -> None:
    assert set(ROLES) == EXPECTED_ROLES
    for role in ROLES:
        for part in ROLE_FILES:
            assert (ROLES_DIR / role / part).is_file(), f"{role}: {part} is missing"


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_prefixed_and_described(role: str) -> None:
    defaults = yaml.safe_load((ROLES_DIR / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), f"{role}: defaults and argument_specs differ"
    for name, option in options.items():
        assert name.startswith(f"{role}_"), f"{name} lacks the role prefix {role}_"
        assert option.get("description"), f"{role}: {name} has no description"
        assert option.get("type"), f"{role}: {name} has no type"
    readme = (ROLES_DIR / role / "README.md").read_text()
    missing = [name for name in defaults if name not in readme]
    assert not missing, f"{role}/README.md does not mention {missing}"


def test_ansible_logs_to_var_log_and_finds_its_roles() -> None:
    config = (ANSIBLE_DIR / "ansible.cfg").read_text()
    assert re.search(r"^log_path\s*=\s*/var/log/ansible\.log$", config, re.MULTILINE)
    assert re.search(r"^roles_path\s*=\s*\./roles$", config, re.MULTILINE)


def test_the_role_installs_the_repositorys_jupyterhub_config() -> None:
    shipped = ROLES_DIR / "jupyterhub" / "files" / "jupyterhub_config.py"
    original = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
    assert shipped.read_text() == original.read_text(), (
        "deploy/ansible/roles/jupyterhub/files/jupyterhub_config.py differs from "
        "deploy/jupyterhub/jupyterhub_config.py: copy the latter over the former"
    )


def test_requirements_list_every_collection_the_roles_use() -> None:
    requirements = yaml.safe_load((ANSIBLE_DIR / "requirements.yml").read_text())
    listed = {collection["name"] for collection in requirements["collections"]}
    used = set()
    for path in ANSIBLE_DIR.rglob("*.yml"):
        used |= set(re.findall(r"\b([a-z_]+\.[a-z_]+)\.[a-z_]+:", path.read_text()))
        used |= set(re.findall(r"lookup\('([a-z_]+\.[a-z_]+)\.", path.read_text()))
    used -= {"ansible.builtin"}
    assert used <= listed, f"requirements.yml lacks {sorted(used - listed)}"


# --- ansible-lint ---------------------------------------------------------------------------


@pytest.mark.slow
def test_ansible_lint_production_profile_is_clean(tmp_path: Path) -> None:
    lint = deploy_tool("ansible-lint")
    env = ansible_env(tmp_path) | {"NO_COLOR": "1"}
    # ansible-lint reads its cache and collections from the real ANSIBLE_HOME.
    env.pop("ANSIBLE_HOME")
    proc = subprocess.run(
        [str(lint), "--offline", "--profile", "production", "--nocolor"],
        cwd=ANSIBLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "Profile 'production' was required, and it passed" in output, output[-3000:]


# --- Real runs against localhost, twice --------------------------------------------------------

# The migration service's schema versions (goose ids of metaflow-service's migration files).
SCHEMA_OLD = "20230118020300"
SCHEMA_NEW = "20240509201906"


@dataclass
class MigrationService:
    """Stand-in for metaflow-service's migration service (port 8082): GET /db_schema_status,
    PATCH /upgrade and GET /ping, with the body shapes of services/migration_service/api.

    The first `unavailable` status reads answer 500, as the real one does while its database
    is not reachable yet.
    """

    unavailable: int = 2
    version: str = SCHEMA_OLD
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def status(self) -> dict[str, object]:
        pending = [] if self.version == SCHEMA_NEW else [SCHEMA_NEW]
        return {
            "is_up_to_date": not pending,
            "current_version": self.version,
            "migration_in_progress": bool(pending),  # upstream: "Pending" in goose status
            "db_schema_versions": [SCHEMA_OLD, SCHEMA_NEW],
            "unapplied_migrations": pending,
        }


@pytest.fixture(scope="module")
def migration_service() -> Iterator[MigrationService]:
    service = MigrationService()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            # Upstream sends its JSON without a JSON content type.
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            service.requests.append(f"GET {self.path}")
            if self.path == "/ping":
                self._answer(200, "pong")
            elif self.path == "/db_schema_status" and service.unavailable > 0:
                service.unavailable -= 1
                self._answer(500, json.dumps({"detail": "connection refused"}))
            elif self.path == "/db_schema_status":
                self._answer(200, json.dumps(service.status()))
            else:
                self._answer(404, "not found")

        def do_PATCH(self) -> None:
            service.requests.append(f"PATCH {self.path}")
            if self.path == "/upgrade":
                service.version = SCHEMA_NEW
                self._answer(200, "upgrade success")
            else:
                self._answer(404, "not found")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Converged:
    work: Path
    first: Run
    second: Run
    migrations: MigrationService


@pytest.fixture(scope="module")
def converged(
    tmp_path_factory: pytest.TempPathFactory, migration_service: MigrationService
) -> Converged:
    """Every role that needs no cloud, applied twice to a temporary prefix.

    efs_mount (fstab entry only), cloudwatch_agent (configuration only), jupyterhub (no
    systemd, packages already in place), metaflow_service (its files only: no container engine
    here) and metaflow_db_migrations (against the loopback stand-in).
    """
    deploy_tool("ansible-playbook")
    if os.geteuid() != 0:
        pytest.skip("SKIPPED: the roles give their units and secrets files to root; run as root")
    venv = Path(sys.prefix)
    if sys.prefix == sys.base_prefix or not (venv / "bin" / "activate").exists():
        pytest.skip(
            f"SKIPPED: the tests do not run in a virtual environment ({sys.prefix}); the hub "
            "role is pointed at the running venv so that nothing has to be installed"
        )
    try:
        pins = [f"{name}=={metadata.version(name)}" for name in HUB_DISTRIBUTIONS]
    except metadata.PackageNotFoundError as exc:
        pytest.skip(f"SKIPPED: {exc.name} is not installed in the test environment")

    work = tmp_path_factory.mktemp("ansible")
    root = work / "root"  # the temporary prefix standing in for /
    fstab = root / "etc" / "fstab"
    fstab.parent.mkdir(parents=True)
    fstab.write_text("UUID=0000-1111 / ext4 defaults 0 1\n")
    variables = {
        # efs_mount: the fstab entry only, into the temporary fstab.
        "efs_mount_dns_name": EFS_DNS,
        "efs_mount_fstab": str(fstab),
        "efs_mount_state": "present",
        "efs_mount_install_packages": False,
        # cloudwatch_agent: its configuration only.
        "cloudwatch_agent_install": False,
        "cloudwatch_agent_manage_service": False,
        "cloudwatch_agent_config_path": str(
            root / "opt/aws/amazon-cloudwatch-agent/etc/agent.json"
        ),
        # jupyterhub: no systemd, no OS packages, no npm; pip finds everything in place.
        "jupyterhub_manage_service": False,
        "jupyterhub_install_system_packages": False,
        "jupyterhub_proxy_install": False,
        "jupyterhub_venv": str(venv),
        "jupyterhub_pip_packages": pins,
        "jupyterhub_pip_extra_args": "--no-index",
        "jupyterhub_prefix": str(root / "opt/jupyterhub"),
        "jupyterhub_config_dir": str(root / "etc/jupyterhub"),
        "jupyterhub_state_dir": str(root / "srv/jupyterhub"),
        "jupyterhub_log_dir": str(root / "var/log/jupyterhub"),
        "jupyterhub_systemd_dir": str(root / "etc/systemd/system"),
        "jupyterhub_logrotate_dir": str(root / "etc/logrotate.d"),
        "jupyterhub_ldap_ca_cert_path": str(root / "etc/ipa/ca.crt"),
        "jupyterhub_ldap_ca_cert_content": CA_PEM,
        "jupyterhub_ldap_search_password": LDAP_PASSWORD,
        "jupyterhub_user_manager_token": HUB_TOKEN,
        "jupyterhub_environment": {"AWS_REGION": "eu-west-1"},
        # metaflow_service: its environment files, unit and logrotate rule only.
        "metaflow_service_manage_service": False,
        "metaflow_service_install_engine": False,
        "metaflow_service_container_engine": "podman",
        "metaflow_service_db_host": "mlplatform.abcdefghijkl.eu-west-1.rds.amazonaws.com",
        "metaflow_service_db_password": DB_PASSWORD,
        "metaflow_service_config_dir": str(root / "etc/metaflow-service"),
        "metaflow_service_log_dir": str(root / "var/log/metaflow-service"),
        "metaflow_service_systemd_dir": str(root / "etc/systemd/system"),
        "metaflow_service_logrotate_dir": str(root / "etc/logrotate.d"),
        # metaflow_db_migrations: through the stand-in, which refuses the first status reads.
        "metaflow_db_migrations_url": migration_service.url,
        "metaflow_db_migrations_ping_url": f"{migration_service.url}/ping",
        "metaflow_db_migrations_restart_unit": "",
        "metaflow_db_migrations_delay": 1,
    }
    for sub in ("etc/systemd/system", "etc/logrotate.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    playbook = write_yaml(
        work / "converge.yml",
        [
            {
                "name": "Apply the roles that run on a plain machine",
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": True,
                "gather_subset": ["!all", "min"],
                "vars": variables,
                "roles": [
                    "efs_mount",
                    "cloudwatch_agent",
                    "jupyterhub",
                    "metaflow_service",
                    "metaflow_db_migrations",
                ],
            }
        ],
    )
    inventory = local_inventory(work)
    real_fstab = Path("/etc/fstab").read_bytes() if Path("/etc/fstab").exists() else None
    first = run_playbook(playbook, inventory, work)
    assert first.code == 0, first.output[-6000:]
    second = run_playbook(playbook, inventory, work)
    assert second.code == 0, second.output[-6000:]
    after = Path("/etc/fstab").read_bytes() if Path("/etc/fstab").exists() else None
    assert after == real_fstab, "the run touched the real /etc/fstab"
    return Converged(root, first, second, migration_service)


@pytest.mark.slow
def test_the_second_run_changes_nothing(converged: Converged) -> None:
    first, second = converged.first.recap(), converged.second.recap()
    assert first["failed"] == 0 and first["unreachable"] == 0
    assert first["changed"] > 0, "the first run should have written the files"
    assert second["failed"] == 0
    assert second["changed"] == 0, converged.second.output[-6000:]


@pytest.mark.slow
def test_efs_entry_is_in_the_temporary_fstab_with_the_exact_options(converged: Converged) -> None:
    lines = (converged.work / "etc" / "fstab").read_text().splitlines()
    assert lines[0] == "UUID=0000-1111 / ext4 defaults 0 1", "an existing entry was changed"
    entries = [line.split() for line in lines if line.startswith(EFS_DNS)]
    assert entries == [[f"{EFS_DNS}:/", "/data", "nfs4", EFS_OPTIONS, "0", "0"]]


@pytest.mark.slow
def test_hub_yaml_loads_with_mlplatforms_loader(converged: Converged) -> None:
    from mlplatform.hub.config import load_hub_config

    root = converged.work
    path = root / "etc" / "jupyterhub" / "jupyterhub.yaml"
    config = load_hub_config(path)
    assert config.ldap.server_address == "ipa.dataplatform.local"
    assert config.ldap.server_port == 636
    assert config.ldap.tls == "on_connect"
    assert config.ldap.ca_cert_file == str(root / "etc" / "ipa" / "ca.crt")
    assert config.ldap.allowed_groups == [
        "cn=ml-platform-users,cn=groups,cn=accounts,dc=dataplatform,dc=local"
    ]
    assert config.mfa.mode == "totp"
    assert config.session_hours == 2
    assert config.culler.timeout == 7200
    assert config.hub.port == 8888
    assert config.hub.state_dir == str(root / "srv" / "jupyterhub")
    assert config.spawner.kind == "local"
    assert config.spawner.home_root == "/data"
    text = path.read_text()
    assert LDAP_PASSWORD not in text and HUB_TOKEN not in text


@pytest.mark.slow
def test_hub_configurer_applies_the_written_files(
    converged: Converged, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traitlets.config import Config

    from mlplatform.hub.configurer import configure

    etc = converged.work / "etc" / "jupyterhub"
    # The values systemd would export from the secrets file.
    for line in (etc / "jupyterhub.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, json.loads(value))
    c = Config()
    configure(c, etc / "jupyterhub.yaml")
    assert c.JupyterHub.bind_url == "http://0.0.0.0:8888/"
    assert c.JupyterHub.cookie_max_age_days == pytest.approx(2 / 24)
    assert c.LDAPAuthenticator.server_port == 636
    assert c.LDAPAuthenticator.tls_strategy == "on_connect"
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=7200" in culler["command"]
    manager = next(s for s in c.JupyterHub.services if s["name"] == "mlplatform-users")
    assert manager["api_token"] == HUB_TOKEN


@pytest.mark.slow
def test_hub_secrets_unit_and_certificate(converged: Converged) -> None:
    root = converged.work
    etc = root / "etc" / "jupyterhub"
    env_file = etc / "jupyterhub.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f'MLPLATFORM_HUB_LDAP_PASSWORD="{LDAP_PASSWORD}"' in env_file.read_text()
    assert stat.S_IMODE((root / "srv" / "jupyterhub").stat().st_mode) == 0o700
    assert (etc / "jupyterhub_config.py").read_text() == (
        REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
    ).read_text()
    assert (root / "etc" / "ipa" / "ca.crt").read_text() == CA_PEM
    unit = (root / "etc" / "systemd" / "system" / "jupyterhub.service").read_text()
    assert f"ExecStart={sys.prefix}/bin/jupyterhub --config {etc}/jupyterhub_config.py" in unit
    assert f"EnvironmentFile={env_file}" in unit
    assert f'Environment="MLPLATFORM_HUB_CONFIG={etc}/jupyterhub.yaml"' in unit
    assert "StandardOutput=append:" in unit
    assert LDAP_PASSWORD not in unit and HUB_TOKEN not in unit
    assert (root / "etc" / "logrotate.d" / "jupyterhub").is_file()
    guard = (root / "etc" / "systemd" / "system" / "jupyterhub-imds-guard.service").read_text()
    assert "-d 169.254.169.254/32 -m owner ! --uid-owner 0 -j REJECT" in guard
    assert "RequiredBy=jupyterhub.service" in guard


@pytest.mark.slow
def test_cloudwatch_agent_config_ships_the_platform_logs(converged: Converged) -> None:
    path = converged.work / "opt/aws/amazon-cloudwatch-agent/etc/agent.json"
    config = json.loads(path.read_text())
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    shipped = {f["file_path"]: f["log_group_name"] for f in files}
    assert shipped["/var/log/jupyterhub/jupyterhub.log"] == "/mlplatform/jupyterhub"
    assert (
        shipped["/var/log/metaflow-service/metaflow-service.log"] == "/mlplatform/metaflow-service"
    )
    assert shipped["/var/log/ansible.log"] == "/mlplatform/ansible"
    system_log = {"/var/log/syslog", "/var/log/messages"} & set(shipped)
    assert system_log and shipped[system_log.pop()] == "/mlplatform/system"
    metrics = config["metrics"]
    assert metrics["namespace"] == "mlplatform/hosts"
    assert metrics["metrics_collected"]["mem"]["measurement"] == ["mem_used_percent"]
    assert "used_percent" in metrics["metrics_collected"]["disk"]["measurement"]


@pytest.mark.slow
def test_a_missing_required_variable_fails_with_what_to_set(tmp_path: Path) -> None:
    playbook = write_yaml(
        tmp_path / "metadata.yml",
        [
            {
                "name": "Apply the metadata service role without its database",
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": True,
                "vars": {"metaflow_service_manage_service": False},
                "roles": ["metaflow_service"],
            }
        ],
    )
    result = run_playbook(playbook, local_inventory(tmp_path), tmp_path)
    assert result.code != 0
    assert result.recap()["failed"] == 1
    assert (
        "set metaflow_service_db_host to the RDS endpoint (terraform output database_address)"
        in result.output
    ), result.output[-3000:]


@pytest.mark.slow
def test_metadata_service_files_keep_the_password_out_of_the_unit(converged: Converged) -> None:
    root = converged.work
    etc = root / "etc" / "metaflow-service"
    secret = etc / "db-password.env"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text().splitlines()[-1] == f"MF_METADATA_DB_PSWD={DB_PASSWORD}"
    settings = dict(
        line.split("=", 1)
        for line in (etc / "metaflow-service.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert settings["MF_METADATA_DB_HOST"] == "mlplatform.abcdefghijkl.eu-west-1.rds.amazonaws.com"
    assert settings["MF_METADATA_DB_SSL_MODE"] == "require"
    assert settings["MF_METADATA_PORT"] == "8080" and settings["MF_MIGRATION_PORT"] == "8082"
    unit = (root / "etc" / "systemd" / "system" / "metaflow-service.service").read_text()
    assert DB_PASSWORD not in unit and DB_PASSWORD not in settings.values()
    assert "docker.io/netflixoss/metaflow_metadata_service:v2.5.1" in unit
    assert "--publish 0.0.0.0:8080:8080" in unit and "--publish 127.0.0.1:8082:8082" in unit
    assert f"--env-file {secret}" in unit
    assert DB_PASSWORD not in converged.first.output + converged.second.output


@pytest.mark.slow
def test_migrations_wait_for_the_database_then_upgrade_once(converged: Converged) -> None:
    requests = converged.migrations.requests
    assert requests.count("PATCH /upgrade") == 1, requests
    # Two refused status reads were retried, not fatal.
    assert requests[:3] == ["GET /db_schema_status"] * 3, requests
    assert f"metadata database schema at version {SCHEMA_NEW} (migrated from {SCHEMA_OLD})" in (
        converged.first.output
    )
    assert f"metadata database schema at version {SCHEMA_NEW} (already up to date)" in (
        converged.second.output
    )


FAKE_ENGINE = """#!/bin/sh
# Stand-in for `podman run --rm ... IMAGE run_goose.py`: records its arguments, refuses the
# first call (the database is still coming up), then answers as goose does.
echo "$@" >> "{state}/calls"
if [ ! -e "{state}/db-up" ]; then
  touch "{state}/db-up"
  echo "dial tcp 10.0.0.5:5432: connect: connection refused" >&2
  exit 1
fi
if [ -e "{state}/migrated" ]; then
  echo "goose: no migrations to run. current version: {new}" >&2
else
  touch "{state}/migrated"
  echo "OK    {new}_add_missing_metadata_index.sql" >&2
  echo "goose: successfully migrated database to version: {new}" >&2
fi
"""


@pytest.mark.slow
def test_container_migrations_run_the_images_goose_runner(tmp_path: Path) -> None:
    """method container: `podman run --rm --env-file ... IMAGE run_goose.py`, retried, twice."""
    deploy_tool("ansible-playbook")
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    engine = bin_dir / "podman"
    engine.write_text(FAKE_ENGINE.format(state=state, new=SCHEMA_NEW))
    engine.chmod(0o755)
    env_files = [tmp_path / "metaflow-service.env", tmp_path / "db-password.env"]
    for path in env_files:
        path.write_text("MF_METADATA_DB_HOST=db\n")
    playbook = write_yaml(
        tmp_path / "migrate.yml",
        [
            {
                "name": "Migrate with the image's goose runner",
                "hosts": "localhost",
                "connection": "local",
                "gather_facts": True,
                "gather_subset": ["!all", "min"],
                "vars": {
                    "metaflow_db_migrations_method": "container",
                    "metaflow_db_migrations_container_engine": "podman",
                    "metaflow_db_migrations_env_files": [str(p) for p in env_files],
                    "metaflow_db_migrations_delay": 1,
                    "metaflow_db_migrations_restart_unit": "",
                    "metaflow_db_migrations_ping_url": "",
                },
                "roles": ["metaflow_db_migrations"],
            }
        ],
    )
    inventory = local_inventory(tmp_path)
    on_path = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}  # the stand-in engine first

    first = run_playbook(playbook, inventory, tmp_path, on_path)
    assert first.code == 0, first.output[-6000:]
    assert first.recap()["changed"] == 1
    assert f"metadata database schema at version {SCHEMA_NEW}" in first.output
    second = run_playbook(playbook, inventory, tmp_path, on_path)
    assert second.code == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.output[-6000:]
    calls = (state / "calls").read_text().splitlines()
    assert len(calls) == 3  # refused, migrated, nothing to do
    expected = (
        f"run --rm --env-file={env_files[0]} --env-file={env_files[1]} "
        "docker.io/netflixoss/metaflow_metadata_service:v2.5.1 "
        "/opt/latest/bin/python3 /root/run_goose.py"
    )
    assert calls == [expected] * 3
