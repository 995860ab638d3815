"""Each notebook server's AWS credentials: its own user's role, short-lived, renewed by botocore.

The hub runs this as a managed service (`python -m mlplatform.hub.credentials`) on 127.0.0.1.
It speaks the ECS container-credentials protocol that botocore's `ContainerProvider` reads: the
spawner sets `AWS_CONTAINER_CREDENTIALS_FULL_URI` to this service and
`AWS_CONTAINER_AUTHORIZATION_TOKEN` to the server's own hub API token, which botocore sends as
the raw `Authorization` header. The service asks the hub whose token it is (`GET
/hub/api/user`: every token may call it, and it names the token's owner), then assumes
`arn:<partition>:iam::<account>:role<role path><prefix><user>` with the user as session name and
answers `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`. Sessions are reused per user
until 20 minutes before they expire, so the renewal botocore starts 15 minutes before expiry
always gets a fresh one. A stopped server's token is deleted by the hub, so leftovers of it
cannot renew; an offboarded user's role denies everything, sessions already issued included.

Refusals are one JSON line `{"message": ...}`: 401 for a missing, unknown or non-user token,
403 when STS refuses the role, 502 when the hub or STS cannot be reached. No token, secret key
or session token is ever logged.

`AWS_EC2_METADATA_DISABLED=true` in the server's environment only stops botocore from quietly
falling back to the hub host's role; it is not a security boundary, since any user process can
still call 169.254.169.254 itself. In production the hub host must block the instance metadata
service for user processes (an iptables `owner` match that lets only root and the hub's account
through; the Ansible role does this) and require IMDSv2.

Starlette and uvicorn rather than tornado: they are what the Push receiver already runs on, and
a plain `def` endpoint runs in starlette's thread pool, so one slow blocking STS call does not
hold up other users' renewals; tests drive the app in-process with `TestClient`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mlplatform.errors import PlatformError
from mlplatform.hub.configurer import CREDENTIALS_HOST
from mlplatform.users.names import USERNAME_PATTERN

log = logging.getLogger(__name__)

# botocore starts renewing 15 min before expiry and does so on every call until it gets a session
# with more left: a cached session is only handed out while it has more than that, plus slack.
RENEW_BEFORE = timedelta(minutes=20)
HUB_TIMEOUT_SECONDS = 5.0  # botocore gives up on the whole request after 2 s and retries twice


class Refused(PlatformError):
    """No credentials for this request: the HTTP status, what is wrong and what to do."""

    def __init__(self, status: int, headline: str, hint: str = "") -> None:
        super().__init__(" ".join(headline.split()), hint)  # one line, whatever the cause said
        self.status = status


@dataclass(frozen=True)
class RoleSession:
    role_arn: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    def as_json(self) -> dict[str, str]:
        """The body botocore's ContainerProvider parses."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": self.expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "AccountId": self.role_arn.split(":")[4],
        }


class HubIdentity:
    """Whose hub API token this is; `transport` is the test seam."""

    def __init__(self, api_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            base_url=api_url.rstrip("/") + "/", transport=transport, timeout=HUB_TIMEOUT_SECONDS
        )

    def __call__(self, token: str) -> str:
        try:
            reply = self._client.get("user", headers={"Authorization": f"token {token}"})
        except httpx.HTTPError as exc:
            raise Refused(502, f"cannot reach the hub API: {exc}", "is the hub up?") from None
        if reply.status_code in (401, 403):
            raise Refused(
                401, "unknown token", "send this server's own hub API token (restart the server)"
            )
        if reply.status_code != 200:
            raise Refused(502, f"the hub API answered {reply.status_code} to GET /user")
        model = reply.json()
        # A service's token names the service: a service called like a user must not get
        # that user's role.
        if model.get("kind") != "user":
            raise Refused(401, "not a user's token", "only users' servers get user credentials")
        return str(model["name"])


def sts_client() -> Any:
    """STS with the standard endpoint settings (AWS_ENDPOINT_URL...) and a short fuse."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 2, "mode": "standard"}
    )
    return boto3.client("sts", config=config)


@contextmanager
def _sts_errors(role_arn: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "Unknown")), str(error.get("Message", ""))
        if "AccessDenied" in code:
            raise Refused(
                403,
                f"STS refused {role_arn}: {message}",
                "onboard the user with `mlplatform users add`, or make the role trust the hub",
            ) from None
        raise Refused(502, f"STS {code} for {role_arn}: {message}") from None
    except BotoCoreError as exc:
        raise Refused(502, f"cannot get credentials from STS: {exc}", "try again") from None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RoleSessions:
    """One reusable session of each user's role; `sts` and `now` are the test seams."""

    def __init__(
        self,
        role_path: str,
        role_prefix: str,
        session_seconds: int,
        account_id: str | None = None,
        sts: Callable[[], Any] = sts_client,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.role_path, self.role_prefix = role_path, role_prefix
        self.session_seconds = session_seconds
        self._account = account_id
        # Made once, here: boto3's default session is not safe to share between the threads
        # requests run in, but a client made from it is.
        self._sts = sts()
        self._now = now
        self._sessions: dict[str, RoleSession] = {}

    def role_arn(self, username: str) -> str:
        if not USERNAME_PATTERN.fullmatch(username):
            raise Refused(403, f"hub user {username!r} cannot name an IAM role")
        if self._account is None:
            with _sts_errors("the hub's own identity"):
                self._account = str(self._sts.get_caller_identity()["Account"])
        name = f"{self.role_prefix}{username}"
        return f"arn:{self._sts.meta.partition}:iam::{self._account}:role{self.role_path}{name}"

    def get(self, username: str) -> RoleSession:
        cached = self._sessions.get(username)
        if cached and cached.expiration - self._now() > RENEW_BEFORE:
            return cached
        arn = self.role_arn(username)
        with _sts_errors(arn):
            reply = self._sts.assume_role(
                RoleArn=arn,
                # STS wants 2-64 characters; a one-letter login is a valid username.
                RoleSessionName=username.ljust(2, "_"),
                DurationSeconds=self.session_seconds,
            )
        given = reply["Credentials"]
        session = RoleSession(
            arn,
            given["AccessKeyId"],
            given["SecretAccessKey"],
            given["SessionToken"],
            given["Expiration"],
        )
        self._sessions[username] = session
        log.info("new session of %s for %s until %s", arn, username, session.expiration)
        return session


def create_app(identify: Callable[[str], str], sessions: RoleSessions) -> Starlette:
    """The service: GET / with the token as Authorization header answers credentials."""

    def credentials(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").strip()
        try:
            if not token:
                raise Refused(401, "no token", "set AWS_CONTAINER_AUTHORIZATION_TOKEN")
            username = identify(token)
            session = sessions.get(username)
        except Refused as refused:
            message = refused.one_line()
            log.warning("refused with %d: %s", refused.status, message)
            return JSONResponse({"message": message}, status_code=refused.status)
        return JSONResponse(session.as_json())

    return Starlette(routes=[Route("/", credentials, methods=["GET"])])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlplatform.hub.credentials")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--role-path", required=True)
    parser.add_argument("--role-prefix", required=True)
    parser.add_argument("--session-seconds", type=int, required=True)
    parser.add_argument("--account-id")
    args = parser.parse_args(argv)
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    if not api_url:
        raise SystemExit("credentials: JUPYTERHUB_API_URL is not set: run me as a hub service")
    logging.basicConfig(
        level=logging.INFO, format="[credentials %(levelname).1s %(asctime)s] %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request says nothing new
    sessions = RoleSessions(args.role_path, args.role_prefix, args.session_seconds, args.account_id)
    app = create_app(HubIdentity(api_url), sessions)
    uvicorn.run(app, host=CREDENTIALS_HOST, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
