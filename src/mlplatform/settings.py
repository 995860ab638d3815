"""The one settings module.

Precedence (highest first): environment `MLPLATFORM_<SECTION>__<KEY>` > the active profile file
`$MLPLATFORM_HOME/profiles/<MLPLATFORM_PROFILE>.yaml` (home `~/.mlplatform`, profile `default`)
> built-in defaults. Sections name the endpoints a component talks to. Secrets never live here:
a profile names the environment variable or Secrets Manager secret that holds one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from mlplatform.errors import SettingsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetadataSettings(_Section):
    service_url: str | None = Field(
        None, description="Metaflow metadata service URL; unset means local metadata."
    )
    database_url: str | None = Field(
        None, description="PostgreSQL URL of the metadata database, for the SQL collector."
    )
    migration_url: str | None = Field(
        None, description="The service's migration endpoint (port 8082), for `doctor`."
    )
    replica_database_url: str | None = Field(
        None, description="PostgreSQL URL of a read replica; `doctor` checks its lag."
    )
    rds_instance_id: str | None = Field(
        None, description="RDS instance of the metadata database; `doctor` reads its free storage."
    )
    slow_response_seconds: float = Field(
        2.0, gt=0, description="`doctor` flags the service when /ping takes longer than this."
    )


class S3Settings(_Section):
    datastore_root: str | None = Field(
        None, description="Metaflow S3 datastore root, e.g. s3://metaflow-artifacts-x/metaflow."
    )
    raw_bucket: str = Field("data-platform-raw", description="Bucket of the raw landing zone.")


class BatchSettings(_Section):
    job_queue: str | None = Field(None, description="AWS Batch job queue for --on batch.")
    runnable_max_minutes: int = Field(
        15, ge=1, description="`doctor` flags jobs RUNNABLE for longer than this."
    )


class AppsFlyerSettings(_Section):
    base_url: str = Field("https://hq1.appsflyer.com", description="Pull API host.")
    token_env: str = Field(
        "APPSFLYER_API_TOKEN", description="Environment variable that holds the API V2 token."
    )
    token_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the token (used when set)."
    )
    raw_root: str = Field(
        "data/raw",
        description="Raw zone root (files land under <root>/appsflyer/...): a local folder by "
        "default, s3://data-platform-raw in production.",
    )
    max_rows: Literal[200_000, 1_000_000] = Field(
        200_000, description="Pull API maximum_rows; a response this long is split and retried."
    )
    lookback_days: int = Field(90, ge=1, description="How far back the Pull API serves data.")
    retry_initial_seconds: float = Field(
        1.0, gt=0, description="First backoff wait for 429/5xx; doubles, with jitter."
    )
    retry_attempts: int = Field(5, ge=1, le=20, description="Attempts per request.")
    app_ids: list[str] = Field(
        default_factory=list, description="Apps whose data `doctor` checks for freshness."
    )
    freshness_hours: int = Field(
        36, ge=1, description="`doctor` flags an app whose newest landed partition is older."
    )


class RunsSettings(_Section):
    max_workers: int = Field(
        default_factory=lambda: max(1, len(os.sched_getaffinity(0))),
        ge=1,
        description="Parallel tasks for local runs; also sizes per-task thread caps.",
    )
    outputs_root: str | None = Field(
        None,
        description=(
            "Where runs write quarantine files, models and exported cards. Unset: beside the "
            "Metaflow datastore (local folder or S3 root)."
        ),
    )


class EfsSettings(_Section):
    home_root: str = Field("/data", description="Where per-user EFS folders live: <root>/<user>.")
    mount_point: str | None = Field(
        None, description="Where EFS is mounted on this host; `doctor` checks it and its options."
    )


class LdapSettings(_Section):
    """The directory as LDAP sees it; FreeIPA's DN layout is the default."""

    url: str | None = Field(
        None,
        description="LDAP server URL, e.g. ldaps://ipa.dataplatform.local:636; unset: no LDAP.",
    )
    base_dn: str = Field("dc=dataplatform,dc=local", description="Directory base DN.")
    users_rdn: str = Field(
        "cn=users,cn=accounts", description="Where users live, relative to base_dn."
    )
    groups_rdn: str = Field(
        "cn=groups,cn=accounts", description="Where groups live, relative to base_dn."
    )
    bind_dn: str | None = Field(None, description="Service account DN the user manager binds as.")
    bind_password_env: str = Field(
        "MLPLATFORM_LDAP_BIND_PASSWORD",
        description="Environment variable holding the bind password.",
    )
    bind_password_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the bind password (used when set)."
    )
    user_object_classes: list[str] = Field(
        ["top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "nsAccount"],
        description="objectClass values of a new user entry.",
    )
    group_object_classes: list[str] = Field(
        ["top", "groupOfNames", "posixGroup"],
        description="objectClass values of a new group entry.",
    )
    lock_attribute: str = Field(
        "nsAccountLock", description="Attribute set to TRUE on a disabled account (389-DS)."
    )
    ca_cert_file: str | None = Field(None, description="CA bundle for ldaps:// (PEM).")
    timeout_seconds: float = Field(5.0, gt=0, description="Connect and response timeout.")


class FreeIpaSettings(_Section):
    url: str | None = Field(
        None, description="FreeIPA server host or URL, e.g. https://ipa.dataplatform.local."
    )
    username: str = Field("admin", description="Account the user manager logs in as.")
    password_env: str = Field(
        "MLPLATFORM_FREEIPA_PASSWORD", description="Environment variable holding its password."
    )
    password_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the password (used when set)."
    )
    verify_ssl: bool | str = Field(
        True, description="Verify the server certificate: true, false, or a CA bundle path."
    )


class JupyterHubSettings(_Section):
    api_url: str | None = Field(
        None, description="Hub REST API, e.g. http://127.0.0.1:8081/hub/api; unset: no hub."
    )
    token_env: str = Field(
        "MLPLATFORM_JUPYTERHUB_TOKEN",
        description="Environment variable holding an API token with the user-manager role.",
    )
    token_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the token (used when set)."
    )
    public_url: str | None = Field(
        None, description="The hub as users reach it (through the proxy), e.g. https://hub.x."
    )


class UsersSettings(_Section):
    """What onboarding creates per user (SPEC: the user manager owns everything per user)."""

    backend: Literal["ldap", "freeipa"] = Field(
        "ldap", description="Directory backend: plain LDAP (ldap3) or FreeIPA's JSON-RPC API."
    )
    groups: list[str] = Field(
        ["ml-platform-users"], description="Groups every platform user belongs to."
    )
    admin_group: str = Field("ml-platform-admins", description="The platform admins' group.")
    id_range_start: int = Field(
        10000, ge=1000, description="First uid/gid number when the directory assigns none."
    )
    id_range_end: int = Field(59999, ge=1000, description="Last uid/gid number of the range.")
    users_bucket: str | None = Field(
        None,
        description="Bucket holding users/<name>/ prefixes and home archives; unset: no S3.",
    )
    iam_enabled: bool = Field(
        True, description="Create the per-user IAM role and policy (needs users_bucket)."
    )
    hub_host_role_arn: str | None = Field(
        None, description="JupyterHub host role trusted to assume each user's role."
    )
    permissions_boundary_arn: str | None = Field(
        None, description="Boundary policy (Terraform-owned) attached to every user role."
    )
    audit_log: str | None = Field(
        None, description="JSON-lines audit log; unset: <MLPLATFORM_HOME>/audit/users.jsonl."
    )
    mfa_store: Literal["ldap", "file"] = Field(
        "file", description="Where TOTP secrets live: an LDAP attribute or a hub-owned file."
    )
    mfa_file: str = Field(
        "/srv/jupyterhub/totp-secrets.json", description="The TOTP secrets file (mode 0600)."
    )
    mfa_attribute: str = Field(
        "mlplatformTotpSecret", description="LDAP attribute holding a user's TOTP secret."
    )
    mfa_issuer: str = Field("mlplatform", description="Issuer shown in authenticator apps.")


class MetaflowProfileSettings(_Section):
    """Platform values a user's Metaflow profile is built from (Terraform outputs them)."""

    service_url: str | None = Field(None, description="METAFLOW_SERVICE_URL.")
    datastore_root: str | None = Field(None, description="METAFLOW_DATASTORE_SYSROOT_S3.")
    batch_job_queue: str | None = Field(None, description="METAFLOW_BATCH_JOB_QUEUE.")
    batch_job_role_arn: str | None = Field(None, description="METAFLOW_ECS_S3_ACCESS_IAM_ROLE.")
    sfn_role_arn: str | None = Field(None, description="METAFLOW_SFN_IAM_ROLE.")
    extra: dict[str, str] = Field(
        default_factory=dict, description="Further METAFLOW_* keys copied into every profile."
    )


class AlertsSettings(_Section):
    """Where alerts go. Webhook URLs and routing keys are secrets: named here, stored elsewhere."""

    sns_topic_arn: str | None = Field(None, description="SNS topic for alerts; unset: no SNS.")
    slack_webhook_env: str = Field(
        "MLPLATFORM_SLACK_WEBHOOK_URL",
        description="Environment variable holding the Slack incoming-webhook URL.",
    )
    slack_webhook_secret: str | None = Field(
        None, description="Secrets Manager secret holding the webhook URL (used when set)."
    )
    pagerduty_routing_key_env: str = Field(
        "MLPLATFORM_PAGERDUTY_ROUTING_KEY",
        description="Environment variable holding the PagerDuty Events API v2 routing key.",
    )
    pagerduty_routing_key_secret: str | None = Field(
        None, description="Secrets Manager secret holding the routing key (used when set)."
    )
    pagerduty_url: str = Field(
        "https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 URL."
    )
    rules_file: str | None = Field(
        None, description="Alert rules YAML; unset: the built-in defaults (docs/operations)."
    )
    state_db: str | None = Field(
        None,
        description="SQLite file for the outbox and rule state; unset: "
        "<MLPLATFORM_HOME>/monitoring/alerts.sqlite.",
    )
    run_link_template: str | None = Field(
        None,
        description="Link to a run in alerts, e.g. https://metaflow-ui.internal/{flow}/{run_id}.",
    )


class MonitoringSettings(_Section):
    heartbeat_cutoff_seconds: int = Field(
        600,
        ge=60,
        description="A run whose last heartbeat is older than this, without a finished end "
        "step, is failed (the Metaflow UI backend's rule), not running.",
    )
    prices_file: str | None = Field(
        None, description="On-demand price table YAML overriding the built-in one."
    )
    cpu_second_price: float = Field(
        0.0, ge=0, description="Price of one local CPU-second (0: local runs cost nothing)."
    )
    cloudwatch_namespace: str = Field("MLPlatform", description="CloudWatch metrics namespace.")
    log_group: str = Field(
        "/mlplatform/audit", description="CloudWatch Logs group for JSON audit events."
    )
    daily_budget: float | None = Field(
        None, ge=0, description="Daily compute budget in USD for the cost alert; unset: none."
    )
    publish_cloudwatch: bool = Field(
        False,
        description="`monitor check` also sends metrics and alert events to CloudWatch.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MLPLATFORM_", env_nested_delimiter="__", extra="forbid"
    )

    metadata: MetadataSettings = Field(default_factory=lambda: MetadataSettings())
    s3: S3Settings = Field(default_factory=lambda: S3Settings())
    batch: BatchSettings = Field(default_factory=lambda: BatchSettings())
    appsflyer: AppsFlyerSettings = Field(default_factory=lambda: AppsFlyerSettings())
    runs: RunsSettings = Field(default_factory=lambda: RunsSettings())
    ldap: LdapSettings = Field(default_factory=lambda: LdapSettings())
    freeipa: FreeIpaSettings = Field(default_factory=lambda: FreeIpaSettings())
    jupyterhub: JupyterHubSettings = Field(default_factory=lambda: JupyterHubSettings())
    users: UsersSettings = Field(default_factory=lambda: UsersSettings())
    metaflow: MetaflowProfileSettings = Field(default_factory=lambda: MetaflowProfileSettings())
    alerts: AlertsSettings = Field(default_factory=lambda: AlertsSettings())
    monitoring: MonitoringSettings = Field(default_factory=lambda: MonitoringSettings())
    efs: EfsSettings = Field(default_factory=lambda: EfsSettings())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ProfileSource(settings_cls))


def home() -> Path:
    return Path(os.environ.get("MLPLATFORM_HOME", "~/.mlplatform")).expanduser()


def profile_path() -> Path:
    return home() / "profiles" / f"{os.environ.get('MLPLATFORM_PROFILE', 'default')}.yaml"


class _ProfileSource(PydanticBaseSettingsSource):
    """Reads the active profile YAML, if there is one."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        path = profile_path()
        if not path.is_file():
            return {}
        # Imported here: the spec loader imports settings-free modules only, no cycle.
        from mlplatform.yamlsafe import load_yaml_file

        data = load_yaml_file(path).data
        if not isinstance(data, dict):
            raise SettingsError(
                f"{path}: a profile must be a mapping of sections",
                "see docs for the profile format",
            )
        return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; `get_settings.cache_clear()` re-reads them."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(
            f"settings: {where}: {first['msg']}",
            f"fix MLPLATFORM_{where.upper().replace('.', '__')} or {profile_path()}",
        ) from None
