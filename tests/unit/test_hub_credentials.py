"""The per-user AWS credentials service against a real moto STS, with a stand-in hub API;
and how the configurer wires it into the hub (service, server environment, YAML checks)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from starlette.testclient import TestClient
from traitlets.config import Config

from mlplatform.errors import PlatformError
from mlplatform.hub import configure, load_hub_config
from mlplatform.hub.configurer import CREDENTIALS_SERVICE
from mlplatform.hub.credentials import HubIdentity, RoleSessions, create_app, sts_client
from tests.conftest import AWS_ENV, free_port

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = REPO / "deploy" / "jupyterhub" / "jupyterhub.yaml"
# Hub API tokens and the models GET /hub/api/user answers for them.
TOKENS = {
    "ana-server-token-0123456789abcdef": {"kind": "user", "name": "ana"},
    "b-server-token-0123456789abcdef": {"kind": "user", "name": "b"},
    "users-service-token-0123456789ab": {"kind": "service", "name": "ana"},
}
ANA = "ana-server-token-0123456789abcdef"


def fake_hub(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/hub/api/user"
    model = TOKENS.get(request.headers["authorization"].removeprefix("token "))
    return httpx.Response(200, json=model) if model else httpx.Response(403)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def aws(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in (AWS_ENV | {"AWS_ENDPOINT_URL": aws_endpoint}).items():
        monkeypatch.setenv(key, value)
    return aws_endpoint


def service(
    clock: Clock | None = None, sts: Any = None, hub: httpx.BaseTransport | None = None
) -> TestClient:
    sessions = RoleSessions(
        "/mlplatform/users/",
        "mlplatform-user-",
        3600,
        sts=sts_client if sts is None else lambda: sts,
        now=clock or Clock(),
    )
    identify = HubIdentity("http://hub.test/hub/api", hub or httpx.MockTransport(fake_hub))
    return TestClient(create_app(identify, sessions))


@pytest.fixture
def client(aws: str) -> Iterator[TestClient]:
    with service() as test_client:
        yield test_client


def caller_arn(creds: dict[str, str]) -> str:
    sts = boto3.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["Token"],
    )
    return str(sts.get_caller_identity()["Arn"])


def refusal(response: Any, status: int, fragment: str) -> str:
    assert response.status_code == status, response.text
    message = response.json()["message"]
    assert response.json() == {"message": message}
    assert "\n" not in message
    assert fragment in message
    return str(message)


# --- the service -----------------------------------------------------------------------------


def test_a_servers_token_gets_its_users_role(client: TestClient) -> None:
    response = client.get("/", headers={"Authorization": ANA})
    assert response.status_code == 200, response.text
    creds = response.json()
    assert set(creds) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}
    expires = datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=55) < expires - datetime.now(UTC) <= timedelta(hours=1, minutes=1)
    account = creds["AccountId"]
    assert caller_arn(creds) == f"arn:aws:sts::{account}:assumed-role/mlplatform-user-ana/ana"


def test_a_one_letter_user_still_gets_a_valid_session_name(client: TestClient) -> None:
    response = client.get("/", headers={"Authorization": "b-server-token-0123456789abcdef"})
    assert caller_arn(response.json()).endswith(":assumed-role/mlplatform-user-b/b_")


def test_a_session_is_reused_until_botocore_would_renew_it(aws: str) -> None:
    clock = Clock()
    with service(clock) as client:
        first = client.get("/", headers={"Authorization": ANA}).json()
        assert client.get("/", headers={"Authorization": ANA}).json() == first
        # botocore renews 15 min before expiry: it must then get a session with more left,
        # so the service renews 20 min before (the 1 h session is 40 min old).
        clock.now += timedelta(minutes=39)
        assert client.get("/", headers={"Authorization": ANA}).json() == first
        clock.now += timedelta(minutes=1, seconds=5)
        renewed = client.get("/", headers={"Authorization": ANA}).json()
    assert renewed["AccessKeyId"] != first["AccessKeyId"]


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "no token"),
        ({"Authorization": "not-a-hub-token"}, "unknown token"),
        ({"Authorization": "users-service-token-0123456789ab"}, "not a user's token"),
    ],
)
def test_only_a_users_known_token_gets_credentials(
    client: TestClient, headers: dict[str, str], fragment: str
) -> None:
    refusal(client.get("/", headers=headers), 401, fragment)


def test_sts_unreachable_is_502_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    with service() as client:
        refusal(client.get("/", headers={"Authorization": ANA}), 502, "cannot get credentials")


def test_hub_unreachable_is_502(aws: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with service(hub=httpx.MockTransport(down)) as client:
        refusal(client.get("/", headers={"Authorization": ANA}), 502, "cannot reach the hub")


def test_a_role_sts_refuses_is_403_saying_what_to_do() -> None:
    class Refusing:
        meta = SimpleNamespace(partition="aws")

        def get_caller_identity(self) -> dict[str, str]:
            return {"Account": "111122223333"}

        def assume_role(self, **_: Any) -> None:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
            raise ClientError(error, "AssumeRole")  # type: ignore[arg-type]

    with service(sts=Refusing()) as client:
        message = refusal(client.get("/", headers={"Authorization": ANA}), 403, "STS refused")
    assert "arn:aws:iam::111122223333:role/mlplatform/users/mlplatform-user-ana" in message
    assert "mlplatform users add" in message


def test_no_token_or_secret_reaches_the_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what the service runs at
    caplog.set_level(logging.DEBUG, logger="mlplatform.hub.credentials")
    creds = client.get("/", headers={"Authorization": ANA}).json()
    client.get("/", headers={"Authorization": "not-a-hub-token"})
    assert "new session of" in caplog.text and "refused with 401" in caplog.text
    for secret in [ANA, "not-a-hub-token", creds["SecretAccessKey"], creds["Token"]]:
        assert secret not in caplog.text


# --- wiring in the hub -----------------------------------------------------------------------


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLATFORM_HUB_LDAP_PASSWORD", "ldap-password")
    monkeypatch.setenv("MLPLATFORM_JUPYTERHUB_TOKEN", "user-manager-token")


def configured(path: Path = PRODUCTION) -> Config:
    c = Config()
    configure(c, path)
    return c


def test_production_hub_runs_the_service_without_any_role(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hub-secret-key-never-in-config")
    c = configured()
    svc = next(s for s in c.JupyterHub.services if s["name"] == CREDENTIALS_SERVICE)
    assert svc["command"][1:] == [
        "-m",
        "mlplatform.hub.credentials",
        "--port=8009",
        "--role-path=/mlplatform/users/",
        "--role-prefix=mlplatform-user-",
        "--session-seconds=3600",
    ]
    assert "url" not in svc  # never routed through the public proxy
    assert not [r for r in c.JupyterHub.load_roles if CREDENTIALS_SERVICE in r["services"]]
    # The hub's AWS settings reach the service when it starts, and never sit in the config.
    assert svc["environment"]["AWS_REGION"](None) == "eu-west-1"
    assert svc["environment"]["AWS_SECRET_ACCESS_KEY"](None) == "hub-secret-key-never-in-config"
    assert "hub-secret-key-never-in-config" not in repr(c)


def test_each_server_gets_the_service_its_own_token_and_the_hubs_region(
    hub_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "hub-access-key")
    env = configured().Spawner.environment
    spawner = SimpleNamespace(api_token="ana-server-token", user=SimpleNamespace(name="ana"))
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:8009/"
    assert env["AWS_CONTAINER_AUTHORIZATION_TOKEN"](spawner) == "ana-server-token"
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_REGION"] == "eu-west-1"
    assert "AWS_ACCESS_KEY_ID" not in env  # the hub's own identity stays in the hub


def test_a_site_without_aws_gets_neither(hub_env: None, tmp_path: Path) -> None:
    path = tmp_path / "jupyterhub.yaml"
    path.write_text("version: 1\naws: {user_credentials: false}\n")
    c = configured(path)
    assert CREDENTIALS_SERVICE not in [s["name"] for s in c.JupyterHub.services]
    assert not [key for key in c.Spawner.environment if key.startswith("AWS_")]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("aws:\n  port: 8081\n", "jupyterhub.yaml:3: aws.port: 8081 is also hub.hub_port"),
        ("aws:\n  session_seconds: 900\n", "jupyterhub.yaml:3: aws.session_seconds"),
        ("aws:\n  role_path: mlplatform/users\n", "must start and end with '/'"),
        ("aws:\n  account_id: '12345'\n", "jupyterhub.yaml:3: aws.account_id"),
        ("aws:\n  role_prefix: 'user/'\n", "IAM name characters"),
    ],
)
def test_a_bad_aws_section_is_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "jupyterhub.yaml"
    path.write_text("version: 1\n" + text)
    with pytest.raises(PlatformError) as info:
        load_hub_config(path)
    assert fragment in info.value.one_line()
    assert "\n" not in info.value.one_line()
