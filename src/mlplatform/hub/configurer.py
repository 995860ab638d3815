"""Turn the hub YAML into JupyterHub's traitlets config: `jupyterhub_config.py` calls this.

Everything a deployment can get wrong lives here, where unit tests can read the result, rather
than in the config file JupyterHub executes. Secrets stay out of the YAML: the user manager's
token is read from its environment variable here, and the LDAP search password is read by the
authenticator itself, so it never enters the traitlets config at all. Likewise the hub's AWS
settings reach the credentials service as callables that read the hub's environment when the
service starts: a static key in that environment never sits in the config.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlplatform.errors import PlatformError
from mlplatform.hub.config import HubConfig, load_hub_config
from mlplatform.hub.profile import ProfileEnvironment
from mlplatform.users.names import USERNAME_PATTERN

AUTHENTICATOR = "mlplatform.hub.authenticator.PlatformLDAPAuthenticator"
CULLER_SERVICE = "idle-culler"
# Exactly what jupyterhub-idle-culler calls without --cull-users: list servers, read their
# activity, stop them. Not admin, not user deletion.
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
# `mlplatform users` creates and deletes hub users and stops their servers;
# `list:services` lets `mlplatform doctor` (which uses the same token) see the culler registered.
USER_MANAGER_SCOPES = ["admin:users", "admin:servers", "list:services"]
CREDENTIALS_SERVICE = "aws-credentials"
CREDENTIALS_MODULE = "mlplatform.hub.credentials"
# botocore fetches container credentials over plain http from loopback addresses only, and the
# service must never be reachable from the network: it binds exactly this address.
CREDENTIALS_HOST = "127.0.0.1"


def configure(c: Any, config_path: str | Path) -> HubConfig:
    """Apply the YAML at `config_path` to the JupyterHub config object `c`."""
    config = load_hub_config(Path(config_path))
    _require_env(config.ldap.search_password_env, "the LDAP search account's password")
    _authenticator(c, config)
    _session(c, config)
    _services(c, config)
    _spawner(c, config)
    _network(c, config)
    return config


def _require_env(name: str, what: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise PlatformError(
            f"{name} is not set: the hub needs {what}",
            f"set {name} in the hub's environment (systemd EnvironmentFile, mode 0600)",
        )
    return value


def _authenticator(c: Any, config: HubConfig) -> None:
    ldap, mfa = config.ldap, config.mfa
    c.JupyterHub.authenticator_class = AUTHENTICATOR
    base = c.LDAPAuthenticator
    base.server_address = ldap.server_address
    base.server_port = ldap.server_port
    base.tls_strategy = ldap.tls
    # ldap3's default is not to check the server certificate at all.
    base.tls_kwargs = {"validate": ssl.CERT_REQUIRED, "ca_certs_file": ldap.ca_cert_file}
    base.allowed_groups = list(ldap.allowed_groups)
    base.lookup_dn = ldap.lookup_dn
    base.lookup_dn_search_user = ldap.search_bind_dn
    if ldap.lookup_dn:
        base.user_search_base = ldap.user_search_base
        base.user_attribute = ldap.user_attribute
        base.lookup_dn_user_dn_attribute = ldap.user_attribute
    else:
        base.bind_dn_template = [ldap.user_dn_template]
    # The platform's username rule, so a name the hub accepts fits every path and DN.
    base.valid_username_regex = f"^{USERNAME_PATTERN.pattern}$"

    ours = c.PlatformLDAPAuthenticator
    ours.search_password_env = ldap.search_password_env
    ours.user_dn_template = ldap.user_dn_template
    ours.lock_attribute = ldap.lock_attribute
    ours.mfa_mode = mfa.mode
    ours.totp_store = mfa.store
    ours.totp_file = mfa.file
    ours.totp_attribute = mfa.attribute
    ours.otp_prompt = mfa.prompt

    # The directory group is the only source of truth: a user left in the hub's database
    # after leaving the group must not keep access.
    c.Authenticator.allow_existing_users = False
    c.Authenticator.auth_refresh_age = ldap.lock_recheck_seconds
    c.Authenticator.blocked_users = {"root"}


def _session(c: Any, config: HubConfig) -> None:
    days = config.session_hours / 24
    # Checked by the hub from the login time; the browser is told the same expiry so it
    # drops the cookie too instead of keeping a cookie the hub will refuse.
    c.JupyterHub.cookie_max_age_days = days
    c.JupyterHub.tornado_settings = {"cookie_options": {"expires_days": days}}


def _services(c: Any, config: HubConfig) -> None:
    culler, manager = config.culler, config.user_manager
    token = _require_env(manager.token_env, f"the {manager.service_name} service token")
    services: list[dict[str, Any]] = [
        {
            "name": CULLER_SERVICE,
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={culler.timeout}",
                f"--cull-every={culler.cull_every}",
            ],
        },
        {"name": manager.service_name, "api_token": token},
    ]
    if config.aws.user_credentials:
        # No role and no `url`: it calls only GET /hub/api/user, with the caller's own token,
        # which every token may do; and without a url the proxy never routes the public
        # internet to it.
        services.append(_credentials_service(config))
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = [
        {
            "name": CULLER_SERVICE,
            "description": "Stop idle servers; nothing else.",
            "scopes": CULLER_SCOPES,
            "services": [CULLER_SERVICE],
        },
        {
            "name": manager.service_name,
            "description": "Create and delete hub users for `mlplatform users`.",
            "scopes": USER_MANAGER_SCOPES,
            "services": [manager.service_name],
        },
    ]


def _credentials_service(config: HubConfig) -> dict[str, Any]:
    aws = config.aws
    command = [sys.executable, "-m", CREDENTIALS_MODULE, f"--port={aws.port}"]
    command += [f"--role-path={aws.role_path}", f"--role-prefix={aws.role_prefix}"]
    command += [f"--session-seconds={aws.session_seconds}"]
    if aws.account_id:
        command.append(f"--account-id={aws.account_id}")
    # JupyterHub starts services with only PATH-like variables of its own environment, so the
    # hub's AWS settings (region, endpoint, profile, keys on a host without a role) are passed
    # on by name. AWS_CONTAINER_*: the service must never fetch from itself.
    names = sorted(n for n in os.environ if n.startswith("AWS_"))
    passed = {n: _from_hub_environment(n) for n in names if not n.startswith("AWS_CONTAINER_")}
    return {"name": CREDENTIALS_SERVICE, "command": command, "environment": passed}


def _from_hub_environment(name: str) -> Callable[[Any], str]:
    def read(_spawner: Any) -> str:
        return os.environ.get(name, "")

    return read


def server_api_token(spawner: Any) -> str:
    """The server's own hub API token: set by `User.spawn` before the environment is built."""
    return str(spawner.api_token)


def credentials_environment(port: int) -> dict[str, Any]:
    """What a notebook server needs to get its user's AWS credentials from the service."""
    # The hub's region: botocore never reads one from the instance metadata service, and the
    # servers' clients (Batch, signed calls to a set endpoint) cannot do without one.
    regions = {n: os.environ[n] for n in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(n)}
    return regions | {
        # botocore's ContainerProvider: GET this URL with the token as Authorization header.
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://{CREDENTIALS_HOST}:{port}/",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": server_api_token,
        # Without this botocore falls back to the host role through the instance metadata
        # service when the service fails. Only a default: the host firewall is the boundary.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _spawner(c: Any, config: HubConfig) -> None:
    spawner = config.spawner
    profile = ProfileEnvironment(spawner.home_root, config.metaflow.profile_dir)
    c.JupyterHub.spawner_class = "simple" if spawner.kind == "simple" else "localprocess"
    c.Spawner.cmd = spawner.cmd or [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
    c.Spawner.notebook_dir = spawner.notebook_dir_template
    c.Spawner.default_url = spawner.default_url
    c.Spawner.start_timeout = spawner.start_timeout
    environment: dict[str, Any] = {
        "METAFLOW_USER": profile.metaflow_user,
        "METAFLOW_HOME": profile.metaflow_home,
    }
    if config.aws.user_credentials:
        environment |= credentials_environment(config.aws.port)
    c.Spawner.environment = environment
    c.Spawner.pre_spawn_hook = profile.pre_spawn_hook
    if spawner.kind == "simple":
        c.SimpleLocalProcessSpawner.home_dir_template = str(Path(spawner.home_root) / "{username}")
        # The simple spawner runs every server as the hub's own account; under root (a test
        # container) Jupyter refuses to start without this. Never for the local spawner: there
        # it would let a directory account named like a system admin run a root server.
        c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []


def _network(c: Any, config: HubConfig) -> None:
    hub = config.hub
    state = Path(hub.state_dir)
    c.JupyterHub.bind_url = f"http://{hub.ip}:{hub.port}/"
    c.JupyterHub.hub_ip = hub.hub_ip
    c.JupyterHub.hub_port = hub.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.command = list(hub.proxy_command)
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
