"""Amazon SNS: one Publish per alert, the alert id in the `alert_id` message attribute.

Subscribers filter or deduplicate on the message attributes (`alert_id`, `dedup_key`, `state`,
`severity`, `rule`). On a FIFO topic (`.fifo`) SNS itself drops a repeat: the deduplication id
is derived from the alert id. boto3's own retries are off (one attempt per call) so that the
delivery loop's policy is the only one; the client honours `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from mlplatform.monitoring.notify import PermanentDeliveryError, RetryableDeliveryError
from mlplatform.monitoring.notify.format import sns_message
from mlplatform.monitoring.records import Alert

_RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "KMSThrottling",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
}


@dataclass
class SnsNotifier:
    topic_arn: str
    timeout_seconds: float = 10.0
    client: Any = field(default=None, repr=False)  # a boto3 SNS client; a seam for tests
    name: str = "sns"

    def send(self, alert: Alert) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        subject, body, attributes = sns_message(alert)
        request: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Subject": subject,
            "Message": body,
            "MessageAttributes": attributes,
        }
        if self.topic_arn.endswith(".fifo"):
            request["MessageGroupId"] = "mlplatform-alerts"  # one group: alerts stay in order
            request["MessageDeduplicationId"] = hashlib.sha256(alert.id.encode()).hexdigest()
        try:
            self._client().publish(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "ClientError"))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            message = f"{self.name}: {code}: {error.get('Message', '')}".rstrip(": ")
            if code in _RETRYABLE_CODES or status == 429 or status >= 500:
                raise RetryableDeliveryError(message) from None
            raise PermanentDeliveryError(message) from None
        except BotoCoreError as exc:  # no connection, timeouts, no credentials (yet)
            raise RetryableDeliveryError(f"{self.name}: {type(exc).__name__}: {exc}") from None

    def _client(self) -> Any:
        if self.client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=self.timeout_seconds,
                read_timeout=self.timeout_seconds,
            )
            region = self.topic_arn.split(":")[3] if self.topic_arn.count(":") >= 5 else None
            self.client = boto3.client("sns", region_name=region or None, config=config)
        return self.client
