"""One JSON POST to an alert webhook, its answer sorted into delivered / retry / give up.

Shared by the Slack and PagerDuty senders. A Slack webhook URL is itself the secret, and httpx
logs every request URL at INFO level, so each secret a sender registers here is masked in the
`httpx` logger's records; our own error messages name the endpoint, never the URL.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from mlplatform.monitoring.notify import PermanentDeliveryError, RetryableDeliveryError

MASK = "<redacted>"
_RETRYABLE_STATUS = {408, 425, 429}


class _SecretMask(logging.Filter):
    """Replaces registered secrets in log records of the logger it is attached to."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        with self._lock:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = tuple(self._secrets)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.scrub(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_MASK = _SecretMask()
logging.getLogger("httpx").addFilter(_MASK)


def keep_out_of_logs(secret: str) -> None:
    """Mask `secret` wherever httpx would log it (request lines carry the full URL)."""
    if secret:
        _MASK.add(secret)


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    endpoint: str,
    timeout_seconds: float,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Response:
    """POST `body`; return a 2xx answer, or raise the delivery error the answer calls for."""
    try:
        with httpx.Client(timeout=timeout_seconds, transport=transport, verify=_tls()) as client:
            response = client.post(url, json=body)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):  # their messages may hold the URL
        raise PermanentDeliveryError(f"{endpoint}: the configured URL is not valid") from None
    except httpx.TimeoutException:
        raise RetryableDeliveryError(f"{endpoint}: no answer within {timeout_seconds:g}s") from None
    except httpx.TransportError as exc:  # refused, reset, DNS: the message holds no URL
        raise RetryableDeliveryError(f"{endpoint}: {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    answer = _MASK.scrub(" ".join(response.text.split()))[:200]  # some services echo input
    message = f"{endpoint}: HTTP {status}" + (f" {answer}" if answer else "")
    if status in _RETRYABLE_STATUS or status >= 500:
        raise RetryableDeliveryError(message, retry_after=retry_after(response))
    raise PermanentDeliveryError(message)


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default context, built once: building it reads the CA bundle (~75 ms)."""
    return httpx.create_ssl_context()


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
