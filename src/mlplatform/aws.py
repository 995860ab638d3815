"""The one place boto3 clients are made and botocore failures become one-line errors.

Clients use boto3's standard settings (credential chain, region, `AWS_ENDPOINT_URL` and
`AWS_ENDPOINT_URL_<SERVICE>`), so moto, LocalStack or a VPC endpoint differ only by
environment. Timeouts are short and retries few: callers that must not lose work (the alert
outbox, the user manager's repair-on-rerun) retry at their own level.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mlplatform.errors import PlatformError


def client(service: str, attempts: int = 2) -> Any:
    import boto3
    from botocore.config import Config

    retries: Any = {"total_max_attempts": attempts, "mode": "standard"}
    config = Config(connect_timeout=3, read_timeout=30, retries=retries)
    return boto3.client(service, config=config)  # type: ignore[call-overload]


@contextmanager
def calling(
    service: str,
    doing: str,
    *,
    access_hint: str | None = None,
    hints: Mapping[str, str] | None = None,
    default_hint: str = "fix the cause and re-run",
) -> Iterator[None]:
    """Turn any botocore failure inside the block into one line naming `service` and `doing`.

    `hints` maps an AWS error code to what to do; AccessDenied gets `access_hint`.
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "Unknown")), error.get("Message", "")
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            hint = access_hint or f"grant the identity running mlplatform this {service} permission"
        else:
            hint = (hints or {}).get(code, default_hint)
        raise PlatformError(f"{service}: {code} while {doing}: {message}", hint) from None
    except NoCredentialsError:
        raise PlatformError(
            f"{service}: no AWS credentials while {doing}",
            "run on a host with an instance role, or set AWS_PROFILE / AWS_ACCESS_KEY_ID",
        ) from None
    except BotoCoreError as exc:
        raise PlatformError(
            f"{service}: cannot reach AWS while {doing} ({exc})",
            "check the network and AWS_ENDPOINT_URL, then re-run",
        ) from None
