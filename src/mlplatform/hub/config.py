"""The hub's one YAML file: every value JupyterHub needs, with production defaults under it.

The file holds no secret. Where the hub needs one (the LDAP search account's password, the user
manager's API token) the file names the environment variable that holds it, and the name is
checked to look like one, so a password pasted into the field is refused before it is used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from mlplatform.errors import PlatformError
from mlplatform.users.provision.aws_api import ROLE_PATH
from mlplatform.yamlsafe import load_yaml_file

BASE_DN = "dc=dataplatform,dc=local"
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SECRET_KEY = re.compile(r"password|token|secret", re.IGNORECASE)


def _env_name(value: str) -> str:
    # The message must not repeat the value: it may be the secret itself.
    if not _ENV_NAME.fullmatch(value):
        raise ValueError("must name an environment variable (A-Z, 0-9, _), not hold the secret")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LdapSection(_Section):
    server_address: str = Field("ipa.dataplatform.local", description="LDAP server host.")
    server_port: int = Field(636, ge=1, le=65535, description="LDAP server port.")
    tls: Literal["on_connect", "before_bind", "insecure"] = Field(
        "on_connect",
        description="on_connect = ldaps://; before_bind = StartTLS; insecure = plain LDAP "
        "(loopback test servers only).",
    )
    ca_cert_file: str | None = Field(
        None, description="CA bundle (PEM) the server certificate must chain to; unset: system."
    )
    user_dn_template: str = Field(
        f"uid={{username}},cn=users,cn=accounts,{BASE_DN}",
        description="A user's entry; {username} is the escaped login name.",
    )
    lookup_dn: bool = Field(
        False,
        description="Find the user's DN by searching user_search_base for user_attribute "
        "instead of filling user_dn_template.",
    )
    user_search_base: str = Field(
        f"cn=users,cn=accounts,{BASE_DN}", description="Where lookup_dn searches."
    )
    user_attribute: str = Field("uid", description="Attribute holding the login name.")
    allowed_groups: list[str] = Field(
        [f"cn=ml-platform-users,cn=groups,cn=accounts,{BASE_DN}"],
        min_length=1,
        description="Full DNs of the groups whose members may log in.",
    )
    search_bind_dn: str = Field(
        f"uid=jupyterhub,cn=sysaccounts,cn=etc,{BASE_DN}",
        description="The hub's own account: reads account locks and TOTP secrets.",
    )
    search_password_env: str = Field(
        "MLPLATFORM_HUB_LDAP_PASSWORD",
        description="Environment variable holding search_bind_dn's password.",
    )
    lock_attribute: str = Field(
        "nsAccountLock", description="Attribute that is TRUE on a disabled account."
    )
    lock_recheck_seconds: int = Field(
        300,
        ge=0,
        description="A logged-in user's lock is checked again after this long; 0: never.",
    )

    _check_env = field_validator("search_password_env")(_env_name)

    @field_validator("user_dn_template")
    @classmethod
    def _has_username(cls, value: str) -> str:
        if "{username}" not in value:
            raise ValueError("must contain {username}, e.g. uid={username},cn=users,...")
        return value

    @field_validator("allowed_groups")
    @classmethod
    def _full_dns(cls, value: list[str]) -> list[str]:
        from ldap3.utils.dn import parse_dn

        for group in value:
            try:
                parse_dn(group)
            except Exception:  # ldap3 raises several types for a malformed DN
                raise ValueError(
                    f"{group!r} is not a DN: write the group's full DN, "
                    f"e.g. cn={group},cn=groups,cn=accounts,{BASE_DN}"
                ) from None
        return value


class MfaSection(_Section):
    mode: Literal["none", "totp", "freeipa"] = Field(
        "totp",
        description="totp: the hub checks the code against the user's enrolled secret; "
        "freeipa: password and code go to FreeIPA together; none: password only.",
    )
    store: Literal["file", "ldap"] = Field(
        "file", description="Where TOTP secrets live (mode totp)."
    )
    file: str = Field(
        "/srv/jupyterhub/totp-secrets.json",
        description="The hub-owned secrets file (store file), mode 0600.",
    )
    attribute: str = Field(
        "mlplatformTotpSecret",
        description="User attribute holding the secret (store ldap); readable by the hub only.",
    )
    issuer: str = Field("mlplatform", description="Issuer name shown in authenticator apps.")
    prompt: str = Field("Authenticator code:", description="Label of the code field.")


class CullerSection(_Section):
    timeout: int = Field(7200, ge=1, description="Stop a server idle this many seconds.")
    cull_every: int = Field(300, ge=1, description="How often the culler checks, in seconds.")

    @model_validator(mode="after")
    def _every_within_timeout(self) -> CullerSection:
        if self.cull_every > self.timeout:
            raise ValueError(
                f"cull_every ({self.cull_every}) is longer than timeout ({self.timeout}): "
                f"set cull_every to at most {self.timeout}"
            )
        return self


class SpawnerSection(_Section):
    kind: Literal["local", "simple"] = Field(
        "local",
        description="local: servers run as the user's system account (production); simple: "
        "as the hub's own account, no system users (tests only).",
    )
    home_root: str = Field("/data", description="EFS home root: a user's home is <root>/<user>.")
    notebook_dir_template: str = Field(
        "/data/{username}", description="Folder the server opens; {username} is filled in."
    )
    default_url: str = Field("/lab", description="Page a user lands on.")
    start_timeout: int = Field(120, ge=10, description="Seconds a server may take to start.")
    cmd: list[str] | None = Field(
        None, description="Single-user server command; unset: the hub venv's one."
    )


class MetaflowSection(_Section):
    profile_dir: str = Field(
        ".metaflowconfig",
        description="The user's Metaflow profile folder, relative to their home "
        "(becomes METAFLOW_HOME; config.json in it is loaded into the server's environment).",
    )


class HubSection(_Section):
    ip: str = Field("0.0.0.0", description="Public (proxy) address the ALB forwards to.")
    port: int = Field(8888, ge=1, le=65535, description="Public (proxy) port behind the ALB.")
    hub_ip: str = Field("127.0.0.1", description="Hub API address (proxy and servers only).")
    hub_port: int = Field(8081, ge=1, le=65535, description="Hub API port.")
    proxy_api_port: int = Field(8001, ge=1, le=65535, description="Proxy REST API port.")
    state_dir: str = Field(
        "/srv/jupyterhub", description="Holds the hub database and cookie secret."
    )
    proxy_command: list[str] = Field(
        ["configurable-http-proxy"], min_length=1, description="configurable-http-proxy command."
    )


class UserManagerSection(_Section):
    service_name: str = Field(
        "mlplatform-users", description="Hub service `mlplatform users` calls the API as."
    )
    token_env: str = Field(
        "MLPLATFORM_JUPYTERHUB_TOKEN",
        description="Environment variable holding that service's API token.",
    )

    _check_env = field_validator("token_env")(_env_name)


class AwsSection(_Section):
    user_credentials: bool = Field(
        True,
        description="Give each notebook server short-lived credentials for its user's IAM role "
        "through the hub's credentials service; false on a site without AWS (the servers then "
        "get no AWS settings from the hub).",
    )
    role_path: str = Field(
        ROLE_PATH, description="IAM path of the user roles `mlplatform users add` creates."
    )
    role_prefix: str = Field(
        "mlplatform-user-", description="A user's role is named <role_prefix><username>."
    )
    account_id: str | None = Field(
        None,
        pattern=r"^[0-9]{12}$",
        description="Account holding the user roles; unset: the hub host role's own account "
        "(asked once from STS GetCallerIdentity).",
    )
    port: int = Field(
        8009, ge=1, le=65535, description="Port of the credentials service, on 127.0.0.1 only."
    )
    session_seconds: int = Field(
        3600,
        # At least 30 min: botocore renews 15 min before expiry, so shorter sessions would be
        # refetched on nearly every call. AWS caps a chained role (host role -> user role) at 1 h.
        ge=1800,
        le=43200,
        description="Lifetime of each session handed out; AWS refuses more than 3600 when the "
        "hub itself runs on a role (role chaining). Servers renew them on their own.",
    )

    @field_validator("role_path")
    @classmethod
    def _slashed(cls, value: str) -> str:
        if not (value.startswith("/") and value.endswith("/")):
            raise ValueError(f"must start and end with '/', e.g. {ROLE_PATH}")
        return value

    @field_validator("role_prefix")
    @classmethod
    def _iam_name(cls, value: str) -> str:
        # 32 + a 32-character username: IAM's 64-character limit on role names.
        if not re.fullmatch(r"[\w+=,.@-]{1,32}", value):
            raise ValueError("must be 1-32 IAM name characters (letters, digits, +=,.@_-)")
        return value


class HubConfig(_Section):
    """`jupyterhub.yaml`: sections left out keep the production defaults."""

    version: Literal[1] = Field(1, description="Format version of this file.")
    ldap: LdapSection = Field(default_factory=LdapSection, description="Directory login.")
    mfa: MfaSection = Field(default_factory=MfaSection, description="Second factor.")
    session_hours: float = Field(
        2, gt=0, le=24 * 14, description="Login lifetime, from login, in hours."
    )
    culler: CullerSection = Field(default_factory=CullerSection, description="Idle culler.")
    spawner: SpawnerSection = Field(default_factory=SpawnerSection, description="Servers.")
    metaflow: MetaflowSection = Field(
        default_factory=MetaflowSection, description="Metaflow profile."
    )
    hub: HubSection = Field(default_factory=HubSection, description="Ports and state.")
    user_manager: UserManagerSection = Field(
        default_factory=UserManagerSection, description="REST access for `mlplatform users`."
    )
    aws: AwsSection = Field(
        default_factory=AwsSection, description="Per-user AWS credentials for notebook servers."
    )

    @model_validator(mode="after")
    def _credentials_port_is_free(self) -> HubConfig:
        hub = self.hub
        taken = {"port": hub.port, "hub_port": hub.hub_port, "proxy_api_port": hub.proxy_api_port}
        clash = [key for key, port in taken.items() if port == self.aws.port]
        if self.aws.user_credentials and clash:
            message = f"{self.aws.port} is also hub.{clash[0]}: give the service a port of its own"
            # Raised with the key's location, so the error names the line of aws.port.
            error = InitErrorDetails(
                type=PydanticCustomError("value_error", message),
                loc=("aws", "port"),
                input=self.aws.port,
            )
            raise ValidationError.from_exception_data(type(self).__name__, [error])
        return self


def load_hub_config(path: Path) -> HubConfig:
    """Read the hub YAML; a mistake is one line naming `file:line: field`."""
    loaded = load_yaml_file(path)
    try:
        return HubConfig.model_validate(loaded.data if loaded.data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        field_path = ".".join(str(p) for p in loc) or "file"
        message = str(first["msg"]).removeprefix("Value error, ")
        hint = "fix that key (deploy/jupyterhub/jupyterhub.yaml lists every key and its default)"
        if first["type"] == "extra_forbidden" and _SECRET_KEY.search(field_path):
            hint = "secrets never go in this file: export them and name the variable (*_env)"
        raise PlatformError(f"{loaded.where(loc)}: {field_path}: {message}", hint) from None
