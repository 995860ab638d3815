"""The infrastructure checks, each failing for its real cause and passing when all is well.

Real peers where they run here: moto's server for Batch queue and compute-environment state,
SNS and S3; the session's slapd for the directory; the loopback AppsFlyer-like Pull API.
Stand-ins, and why:
- Batch jobs never reach RUNNABLE on moto (it has no scheduler to leave them there), so the
  RUNNABLE-age logic and the cause finder read RECORDED `list_jobs` / `describe_jobs` /
  `describe_compute_environments` answers (tests/data/doctor/). moto cannot make a compute
  environment INVALID either: that one is in the recorded answer too.
- JupyterHub: a loopback HTTP server answering the documented hub routes (`GET /hub/api/`,
  `GET /hub/api/services` with a token, `GET /hub/health`); starting a real hub needs the
  proxy from npm, slapd users and ~10 s per test, and these routes are all the check reads.
- EFS: mountinfo files in tests/data/doctor/ (no NFS server here); the real
  /proc/self/mountinfo for the "not nfs4" case.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlplatform.doctor.base import Status
from mlplatform.doctor.checks import alerting, appsflyer, batch, directory, efs, jupyterhub
from mlplatform.monitoring.notify.outbox import Outbox
from mlplatform.monitoring.records import Alert
from mlplatform.settings import Settings
from tests.conftest import free_port, run_cli
from tests.integration.fake_appsflyer import FakeAppsFlyer
from tests.servers.jupyterhub import add_group, add_user
from tests.servers.slapd import LdapServer

DATA = Path(__file__).resolve().parents[1] / "data" / "doctor"


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- batch -------------------------------------------------------------------------------


@pytest.fixture
def batch_env(aws: str) -> Iterator[dict[str, str]]:
    """IAM role, instance profile and networking for managed compute environments on moto."""
    iam, ec2 = boto3.client("iam"), boto3.client("ec2")
    name = _unique("batch")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="batch", VpcId=vpc)["GroupId"]
    yield {"role": role, "profile": profile, "subnet": subnet, "group": group}


def _queue(env: dict[str, str], *, max_vcpus: int = 16, state: str = "ENABLED") -> str:
    client = boto3.client("batch")
    compute = _unique("ce")
    client.create_compute_environment(
        computeEnvironmentName=compute,
        type="MANAGED",
        state="ENABLED",
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": max_vcpus,
            "desiredvCpus": 0,
            "instanceTypes": ["m5"],
            "subnets": [env["subnet"]],
            "securityGroupIds": [env["group"]],
            "instanceRole": env["profile"],
        },
        serviceRole=env["role"],
    )
    queue = _unique("queue")
    client.create_job_queue(
        jobQueueName=queue,
        state=state,
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
    )
    return queue


def test_batch_is_not_configured_without_a_queue() -> None:
    finding = batch.CHECK.run(Settings())
    assert finding.status is Status.NOT_CONFIGURED
    assert "batch.job_queue" in finding.summary


def test_batch_passes_on_an_enabled_queue(batch_env: dict[str, str]) -> None:
    queue = _queue(batch_env)
    finding = batch.CHECK.run(Settings(batch={"job_queue": queue}))
    assert finding.status is Status.PASS, finding
    assert any("maxvCpus 16" in d for d in finding.details)
    assert "0 job(s) RUNNABLE for more than 15 minutes" in finding.details


def test_batch_fails_on_a_disabled_queue_and_the_fixer_enables_it(
    batch_env: dict[str, str],
) -> None:
    queue = _queue(batch_env, state="DISABLED")
    settings = Settings(batch={"job_queue": queue})
    finding = batch.CHECK.run(settings)
    assert finding.status is Status.FAIL
    assert f"job queue {queue} is DISABLED: it accepts no jobs" in finding.summary
    assert finding.action and "--fix" in finding.action
    fixer = batch.CHECK.fixer
    assert fixer is not None
    assert fixer.plan(settings, finding) == [
        f"aws batch update-job-queue --job-queue {queue} --state ENABLED"
    ]
    assert fixer.apply(settings, finding) == f"job queue {queue} set to ENABLED"
    assert batch.CHECK.run(settings).status is Status.PASS


def test_batch_fails_on_a_compute_environment_with_no_vcpus(batch_env: dict[str, str]) -> None:
    queue = _queue(batch_env, max_vcpus=0)
    finding = batch.CHECK.run(Settings(batch={"job_queue": queue}))
    assert finding.status is Status.FAIL
    assert "has maxvCpus 0: it can start nothing" in finding.summary


def test_batch_fails_on_a_queue_that_does_not_exist(aws: str) -> None:
    finding = batch.CHECK.run(Settings(batch={"job_queue": "no-such-queue"}))
    assert finding.status is Status.FAIL
    assert finding.summary == "job queue no-such-queue does not exist"


def test_runnable_age_reads_every_recorded_page() -> None:
    recorded = _load("batch_list_jobs_runnable.json")
    now = recorded["recorded_at_ms"]
    stuck = batch.stuck_jobs(recorded["pages"], now, 15)
    # Oldest first; the 3-minute job on page 1 is young, both stuck ones are on page 2.
    assert [(j.name, j.minutes) for j in stuck] == [
        ("TextEmbeddingFlow-1729-embed-2", 135),
        ("AppsflyerD7PurchaseFlow-1731-train-4", 47),
    ]
    assert [j.name for j in batch.stuck_jobs(recorded["pages"], now, 60)] == [
        "TextEmbeddingFlow-1729-embed-2"
    ]
    assert batch.stuck_jobs(recorded["pages"], now, 180) == []


def test_causes_of_stuck_jobs_from_recorded_answers() -> None:
    recorded = _load("batch_list_jobs_runnable.json")
    stuck = batch.stuck_jobs(recorded["pages"], recorded["recorded_at_ms"], 15)
    jobs = _load("batch_describe_jobs_stuck.json")["jobs"]
    environments = _load("batch_describe_compute_environments.json")["computeEnvironments"]
    causes = batch.likely_causes(stuck, jobs, environments)
    assert causes[0].startswith("compute environment metaflow-spot is INVALID: CLIENT_ERROR")
    assert "compute environment metaflow-spot: subnets missing or invalid" in causes
    assert (
        "compute environment metaflow-cpu is at its maxvCpus (64 of 64): raise maxvCpus or "
        "wait for running jobs"
    ) in causes
    # 64 vCPU / 480 GiB fits no c5 or m5 size; 8 vCPU / 30000 MiB fits an m5.2xlarge.
    assert (
        "job TextEmbeddingFlow-1729-embed-2 asks 64 vCPU / 491520 MiB: no instance type fits "
        "(largest metaflow-cpu: 96 vCPU / 360 GiB)"
    ) in causes
    assert not any("AppsflyerD7PurchaseFlow-1731" in c for c in causes)
    assert any(c.startswith("job TextEmbeddingFlow-1729-embed-2: MISCONFIGURATION") for c in causes)


def test_instance_table_and_requested_resources() -> None:
    assert (2, int(2 * 2 * 1024 * 0.94)) in batch.instance_capacity("c5.large")
    assert batch.instance_capacity("p3.2xlarge") == []  # unknown: never blamed for capacity
    assert len(batch.instance_capacity("optimal")) == 24
    legacy = {"jobId": "x", "container": {"vcpus": 2, "memory": 4096}}
    assert batch.requested(legacy) == (2.0, 4096)


# --- directory ---------------------------------------------------------------------------


@pytest.fixture
def platform_groups(ldap_server: LdapServer) -> dict[str, object]:
    """Two fresh groups standing in for users.groups and users.admin_group."""
    member = _unique("doctor")
    add_user(ldap_server, member, "pw")
    users, admins = _unique("users"), _unique("admins")
    add_group(ldap_server, users, [member], 71001)
    add_group(ldap_server, admins, [member], 71002)
    return {"groups": [users], "admin_group": admins}


def _ldap_settings(
    server: LdapServer, monkeypatch: pytest.MonkeyPatch, users: dict[str, object], **ldap: object
) -> Settings:
    monkeypatch.setenv("MLPLATFORM_LDAP_BIND_PASSWORD", server.manager_password)
    values = {"url": server.url, "base_dn": server.base_dn, "bind_dn": server.manager_dn}
    return Settings(ldap={**values, **ldap}, users=users)


def test_directory_is_not_configured_without_a_url() -> None:
    assert directory.CHECK.run(Settings()).status is Status.NOT_CONFIGURED


def test_directory_passes_with_the_service_account_and_groups(
    ldap_server: LdapServer, platform_groups: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    finding = directory.CHECK.run(_ldap_settings(ldap_server, monkeypatch, platform_groups))
    assert finding.status is Status.PASS, finding
    assert f"bound to {ldap_server.url} as {ldap_server.manager_dn}" in finding.summary


def test_directory_fails_on_a_wrong_bind_password(
    ldap_server: LdapServer, platform_groups: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _ldap_settings(ldap_server, monkeypatch, platform_groups)
    monkeypatch.setenv("MLPLATFORM_LDAP_BIND_PASSWORD", "not-the-password")
    finding = directory.CHECK.run(settings)
    assert finding.status is Status.FAIL
    assert "refused the bind" in finding.summary and "invalidCredentials" in finding.summary
    assert "not-the-password" not in str(finding)
    assert finding.action and "MLPLATFORM_LDAP_BIND_PASSWORD" in finding.action


def test_directory_fails_on_a_dead_port(
    ldap_server: LdapServer, platform_groups: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    finding = directory.CHECK.run(
        _ldap_settings(ldap_server, monkeypatch, platform_groups, url=url)
    )
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"cannot reach LDAP server {url}")


def test_directory_fails_on_a_missing_group(
    ldap_server: LdapServer, platform_groups: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = {**platform_groups, "admin_group": "ml-platform-nobody"}
    finding = directory.CHECK.run(_ldap_settings(ldap_server, monkeypatch, groups))
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "platform group(s) missing under cn=groups,cn=accounts,dc=dataplatform,dc=local: "
        "ml-platform-nobody"
    )
    assert "group ml-platform-nobody: missing" in finding.details


def _ca(path: Path, not_before: datetime, not_after: datetime) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlplatform test CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_directory_fails_on_an_expired_ca_certificate(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = _ca(tmp_path / "ca.pem", now - timedelta(days=400), now - timedelta(days=2))
    url = f"ldaps://127.0.0.1:{free_port()}"
    finding = directory.CHECK.run(Settings(ldap={"url": url, "ca_cert_file": str(ca)}))
    assert finding.status is Status.FAIL
    expired = (now - timedelta(days=2)).strftime("%Y-%m-%d")
    assert finding.summary == f"CA certificate CN=mlplatform test CA expired on {expired}"
    assert finding.action and "ldap.ca_cert_file" in finding.action


def test_directory_fails_on_a_missing_or_unreadable_ca_file(tmp_path: Path) -> None:
    url = f"ldaps://127.0.0.1:{free_port()}"
    missing = directory.CHECK.run(Settings(ldap={"url": url, "ca_cert_file": "/nonexistent.pem"}))
    assert missing.summary == "CA certificate file /nonexistent.pem does not exist"
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    finding = directory.CHECK.run(Settings(ldap={"url": url, "ca_cert_file": str(garbage)}))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"CA certificate file {garbage} is not PEM certificates")


def test_a_ca_expiring_soon_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = _ca(tmp_path / "ca.pem", now - timedelta(days=300), now + timedelta(days=10))
    problems, notes = directory.ca_problems(str(ca), now)
    assert problems == []
    soon = (now + timedelta(days=10)).strftime("%Y-%m-%d")
    assert notes == [f"warning: CA certificate CN=mlplatform test CA expires on {soon}"]


# --- jupyterhub --------------------------------------------------------------------------

HUB_TOKEN = "hub-token-for-doctor"


class _HubStandIn:
    """The hub routes the check reads, as JupyterHub 5 answers them."""

    def __init__(self, services: list[str]) -> None:
        self.services = services

        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/hub/api/":
                    return self._json(200, {"version": "5.5.4"})
                if self.path == "/hub/health":
                    return self._json(200, {})
                if self.path == "/hub/api/services":
                    if self.headers.get("Authorization") != f"token {HUB_TOKEN}":
                        return self._json(403, {"status": 403, "message": "Forbidden"})
                    models = {n: {"kind": "service", "name": n} for n in stand_in.services}
                    return self._json(200, models)
                return self._json(404, {"status": 404, "message": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[_HubStandIn]:
    monkeypatch.setenv("MLPLATFORM_JUPYTERHUB_TOKEN", HUB_TOKEN)
    stand_in = _HubStandIn(["idle-culler", "mlplatform-users", "aws-credentials"])
    yield stand_in
    stand_in.close()


def _hub_settings(api: str, public: str | None) -> Settings:
    return Settings(jupyterhub={"api_url": api + "/hub/api", "public_url": public})


def test_jupyterhub_is_not_configured_without_an_api_url() -> None:
    assert jupyterhub.CHECK.run(Settings()).status is Status.NOT_CONFIGURED


def test_jupyterhub_passes_with_api_proxy_and_culler(hub: _HubStandIn) -> None:
    finding = jupyterhub.CHECK.run(_hub_settings(hub.url, hub.url))
    assert finding.status is Status.PASS, finding
    assert f"hub API {hub.url}/hub/api: JupyterHub 5.5.4" in finding.details
    assert f"proxy {hub.url}/hub/health: HTTP 200" in finding.details


def test_jupyterhub_fails_on_a_dead_port() -> None:
    api = f"http://127.0.0.1:{free_port()}"
    finding = jupyterhub.CHECK.run(_hub_settings(api, None))
    assert finding.status is Status.FAIL
    assert finding.summary == f"the hub API at {api}/hub/api/ is unreachable (ConnectError)"
    assert finding.action and "systemctl start jupyterhub" in finding.action


def test_jupyterhub_fails_without_the_culler(hub: _HubStandIn) -> None:
    hub.services.remove("idle-culler")
    finding = jupyterhub.CHECK.run(_hub_settings(hub.url, hub.url))
    assert finding.status is Status.FAIL
    assert finding.summary == "the idle culler service 'idle-culler' is not registered"
    assert "services: aws-credentials, mlplatform-users" in finding.details


def test_jupyterhub_fails_on_a_refused_token(
    hub: _HubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLATFORM_JUPYTERHUB_TOKEN", "revoked")
    finding = jupyterhub.CHECK.run(_hub_settings(hub.url, None))
    assert finding.status is Status.FAIL
    assert finding.summary == "the API token may not list services (HTTP 403)"
    assert finding.action == "give the token's role the list:services scope"


def test_jupyterhub_fails_without_a_token(
    hub: _HubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLPLATFORM_JUPYTERHUB_TOKEN")
    finding = jupyterhub.CHECK.run(_hub_settings(hub.url, None))
    assert finding.status is Status.FAIL
    assert finding.summary == "no JupyterHub API token: MLPLATFORM_JUPYTERHUB_TOKEN is not set"
    assert finding.details == (f"hub API {hub.url}/hub/api: JupyterHub 5.5.4",)
    assert finding.action and "jupyterhub.token_secret" in finding.action


def test_jupyterhub_fails_when_the_proxy_is_down(hub: _HubStandIn) -> None:
    public = f"http://127.0.0.1:{free_port()}"
    finding = jupyterhub.CHECK.run(_hub_settings(hub.url, public))
    assert finding.status is Status.FAIL
    assert finding.summary == f"the proxy at {public}/hub/health is unreachable (ConnectError)"


# --- efs ---------------------------------------------------------------------------------


def test_efs_is_not_configured_without_a_mount_point() -> None:
    assert efs.CHECK.run(Settings()).status is Status.NOT_CONFIGURED


def test_efs_passes_with_the_brief_options() -> None:
    finding = efs.check_mount("/data", DATA / "mountinfo_efs_ok")
    assert finding.status is Status.PASS, finding
    assert finding.details[0] == (
        "fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com:/ on /data type nfs4"
    )


def test_efs_names_the_missing_options() -> None:
    finding = efs.check_mount("/data/", DATA / "mountinfo_efs_defaults")
    assert finding.status is Status.FAIL
    assert (
        finding.summary == "/data lacks mount options rsize=1048576,wsize=1048576,hard,noresvport"
    )
    assert finding.action and "rsize=1048576,wsize=1048576,hard,timeo=600" in finding.action


def test_efs_fails_when_nothing_is_mounted_there() -> None:
    finding = efs.check_mount("/home/efs", DATA / "mountinfo_efs_ok")
    assert finding.status is Status.FAIL
    assert finding.summary == "EFS is not mounted at /home/efs"


def test_efs_fails_on_this_host_mount_that_is_not_nfs() -> None:
    finding = efs.CHECK.run(Settings(efs={"mount_point": "/proc"}))  # the real mountinfo
    assert finding.status is Status.FAIL
    assert finding.summary.startswith("/proc is proc, not nfs4; /proc lacks mount options")


# --- appsflyer ---------------------------------------------------------------------------

APP = "id1234567890"


@pytest.fixture
def pull_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAppsFlyer]:
    with FakeAppsFlyer() as fake:
        monkeypatch.setenv("APPSFLYER_API_TOKEN", fake.state.token)
        yield fake


def _land(root: Path, day: date, report: str = "installs_report") -> None:
    folder = root / "appsflyer" / APP / report / f"dt={day.isoformat()}"
    folder.mkdir(parents=True)
    (folder / "part-00000.csv").write_text("Install Time\n")


def _af_settings(fake: FakeAppsFlyer, root: Path | str, hours: int = 36) -> Settings:
    return Settings(
        appsflyer={
            "base_url": fake.url,
            "raw_root": str(root),
            "app_ids": [APP],
            "freshness_hours": hours,
        }
    )


def test_appsflyer_is_not_configured_without_token_or_apps() -> None:
    finding = appsflyer.CHECK.run(Settings())
    assert finding.status is Status.NOT_CONFIGURED


def test_appsflyer_passes_with_an_accepted_token_and_yesterday_landed(
    pull_api: FakeAppsFlyer, tmp_path: Path
) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    _land(tmp_path, yesterday - timedelta(days=3))
    _land(tmp_path, yesterday, "in_app_events_report")
    finding = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert finding.status is Status.PASS, finding
    assert finding.summary == "token accepted; 1 app(s) fresh within 36 h"
    assert any(d.startswith(f"{APP}: newest partition dt={yesterday}") for d in finding.details)
    # One cheap call: a one-minute window of the installs report.
    [request] = pull_api.state.requests
    assert request["path"] == f"/api/raw-data/export/app/{APP}/installs_report/v5"


def test_appsflyer_fails_on_a_rejected_token(
    pull_api: FakeAppsFlyer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _land(tmp_path, datetime.now(UTC).date())
    monkeypatch.setenv("APPSFLYER_API_TOKEN", "expired-token")
    finding = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert finding.status is Status.FAIL
    assert finding.summary == "token rejected: renew it in AppsFlyer → API tokens"
    assert finding.action and "APPSFLYER_API_TOKEN" in finding.action


def test_appsflyer_fails_on_a_used_quota(pull_api: FakeAppsFlyer, tmp_path: Path) -> None:
    _land(tmp_path, datetime.now(UTC).date())
    pull_api.state.quota = 0
    finding = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith("quota used up: ")
    assert "daily API call limit" in finding.summary
    pull_api.state.quota, pull_api.state.fail_next = None, [429]
    throttled = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert throttled.summary.startswith("quota used up: ") and "HTTP 429" in throttled.summary


def test_appsflyer_fails_on_a_stale_partition(pull_api: FakeAppsFlyer, tmp_path: Path) -> None:
    old = datetime.now(UTC).date() - timedelta(days=5)
    _land(tmp_path, old)
    finding = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"{APP}: newest partition dt={old} is ")
    assert finding.summary.endswith(" h old (limit 36 h)")
    assert finding.action and "mlplatform appsflyer pull" in finding.action


def test_appsflyer_fails_when_nothing_landed(pull_api: FakeAppsFlyer, tmp_path: Path) -> None:
    finding = appsflyer.CHECK.run(_af_settings(pull_api, tmp_path))
    assert finding.status is Status.FAIL
    assert finding.summary == f"{APP}: no landed partition under {tmp_path}/appsflyer/{APP}"


def test_appsflyer_reads_freshness_from_s3(pull_api: FakeAppsFlyer, aws: str) -> None:
    bucket = _unique("raw")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    today = datetime.now(UTC).date()
    for day in (today - timedelta(days=9), today - timedelta(days=1)):
        key = f"appsflyer/{APP}/installs_report/dt={day}/part-00000.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=b"Install Time\n")
    finding = appsflyer.CHECK.run(_af_settings(pull_api, f"s3://{bucket}"))
    assert finding.status is Status.PASS, finding
    stale = appsflyer.CHECK.run(_af_settings(pull_api, f"s3://{bucket}", hours=1))
    assert stale.status is Status.FAIL
    assert f"newest partition dt={today - timedelta(days=1)}" in stale.summary


# --- alerting ----------------------------------------------------------------------------


def test_alerting_is_not_configured_without_destinations() -> None:
    assert alerting.CHECK.run(Settings()).status is Status.NOT_CONFIGURED


def test_alerting_passes_with_a_topic_a_webhook_and_an_empty_outbox(
    aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = boto3.client("sns").create_topic(Name=_unique("alerts"))["TopicArn"]
    monkeypatch.setenv("MLPLATFORM_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never-called")
    state_db = tmp_path / "alerts.sqlite"
    Outbox(state_db)
    finding = alerting.CHECK.run(
        Settings(alerts={"sns_topic_arn": topic, "state_db": str(state_db)})
    )
    assert finding.status is Status.PASS, finding
    assert finding.details == (
        f"SNS topic {topic}: reachable",
        "Slack webhook: set in MLPLATFORM_SLACK_WEBHOOK_URL",
        "PagerDuty routing key: not configured (MLPLATFORM_PAGERDUTY_ROUTING_KEY unset)",
        f"outbox {state_db}: empty",
    )


def test_alerting_fails_on_a_missing_topic(aws: str) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:deleted-alerts"
    finding = alerting.CHECK.run(Settings(alerts={"sns_topic_arn": topic}))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"sns: NotFound while reading topic {topic}")
    assert finding.action and "alerts.sns_topic_arn" in finding.action


def test_alerting_fails_on_a_backed_up_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLATFORM_PAGERDUTY_ROUTING_KEY", "R0UT1NGKEY")
    state_db = tmp_path / "alerts.sqlite"
    created = datetime.now(UTC) - timedelta(hours=2)
    alert = Alert(
        id="a1",
        dedup_key="run-failed:AppsflyerD7PurchaseFlow",
        rule="run-failed",
        state="trigger",
        severity="critical",
        summary="AppsflyerD7PurchaseFlow/1731 failed",
        created=created,
    )
    Outbox(state_db).enqueue(alert, ["pagerduty"])
    finding = alerting.CHECK.run(Settings(alerts={"state_db": str(state_db)}))
    assert finding.status is Status.FAIL
    assert finding.summary == "1 alert(s) to pagerduty undelivered, oldest 120 min"
    assert "outbox pagerduty: 1 pending, 0 dead, oldest 120 min" in finding.details
    assert "R0UT1NGKEY" not in str(finding)


def test_alerting_fails_with_an_outbox_but_no_destination(tmp_path: Path) -> None:
    finding = alerting.CHECK.run(Settings(alerts={"state_db": str(tmp_path / "a.sqlite")}))
    assert finding.status is Status.FAIL
    assert finding.summary == "no alert destination configured: alerts reach nobody"


# --- through the CLI ---------------------------------------------------------------------


def test_cli_reports_a_disabled_queue_and_fixes_it(
    batch_env: dict[str, str], workdir: Path
) -> None:
    queue = _queue(batch_env, state="DISABLED")
    env = {"MLPLATFORM_BATCH__JOB_QUEUE": queue}
    failing = run_cli("doctor", "--only", "batch", "--json", cwd=workdir, env=env)
    assert failing.code == 1, failing.stderr
    [entry] = json.loads(failing.stdout)["checks"]
    assert entry["status"] == "fail"
    assert entry["summary"] == f"job queue {queue} is DISABLED: it accepts no jobs"
    assert entry["runbook"] == "docs/runbook.md#batch"
    fixed = run_cli("doctor", "--only", "batch", "--fix", "--yes", cwd=workdir, env=env)
    assert f"job queue {queue} set to ENABLED" in fixed.stdout, fixed.stdout + fixed.stderr
    queues = boto3.client("batch").describe_job_queues(jobQueues=[queue])["jobQueues"]
    assert queues[0]["state"] == "ENABLED"
    assert run_cli("doctor", "--only", "batch", cwd=workdir, env=env).code == 0
