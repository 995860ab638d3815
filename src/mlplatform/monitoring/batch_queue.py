"""AWS Batch queue depth: how many jobs wait RUNNABLE, and since when the oldest waits.

Jobs stuck in RUNNABLE are the known Batch symptom of a compute environment that cannot grow
(max vCPUs reached, no instance type fits the job, a broken launch template; Netflix/metaflow
#110, #347). Both numbers come from one paginated `ListJobs(jobStatus=RUNNABLE)` pass, 100 jobs
per page. The client is boto3's with its standard settings (credentials chain, AWS_REGION,
AWS_ENDPOINT_URL); `client=` is the seam tests use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mlplatform import aws
from mlplatform.errors import PlatformError

PAGE_SIZE = 100


@dataclass(frozen=True)
class QueueDepth:
    job_queue: str
    runnable: int
    oldest_created_epoch_ms: int | None  # createdAt of the oldest RUNNABLE job

    def oldest_age_seconds(self, now_epoch_seconds: float | None = None) -> float | None:
        if self.oldest_created_epoch_ms is None:
            return None
        now = time.time() if now_epoch_seconds is None else now_epoch_seconds
        return max(0.0, now - self.oldest_created_epoch_ms / 1000)


def queue_depth(job_queue: str, client: Any | None = None) -> QueueDepth:
    """Count RUNNABLE jobs of `job_queue` (name or ARN); errors become one-line PlatformErrors."""
    import botocore.exceptions as bce  # here: importing botocore costs ~0.3 s, not every CLI call

    try:
        batch = client if client is not None else _client()
        pages = batch.get_paginator("list_jobs").paginate(
            jobQueue=job_queue,
            jobStatus="RUNNABLE",
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        runnable, oldest = 0, None
        for page in pages:
            for job in page.get("jobSummaryList", []):
                runnable += 1
                created = job.get("createdAt")
                if created is not None and (oldest is None or created < oldest):
                    oldest = int(created)
    except bce.ClientError as exc:
        error = exc.response.get("Error", {})
        raise PlatformError(
            f"Batch queue {job_queue}: {error.get('Code', 'error')}: {error.get('Message', exc)}",
            "check settings batch.job_queue and that your role may call batch:ListJobs",
        ) from None
    except (bce.NoCredentialsError, bce.NoRegionError, bce.PartialCredentialsError) as exc:
        raise PlatformError(
            f"Batch queue {job_queue}: {exc}", "set AWS credentials and AWS_REGION"
        ) from None
    except bce.BotoCoreError as exc:  # endpoint unreachable, timeouts, bad responses
        raise PlatformError(
            f"Batch queue {job_queue}: {exc}", "check network access to the Batch endpoint"
        ) from None
    return QueueDepth(job_queue, runnable, oldest)


def runnable_jobs(job_queue: str, client: Any | None = None) -> int:
    """Jobs waiting RUNNABLE in `job_queue`."""
    return queue_depth(job_queue, client).runnable


def oldest_runnable_age_seconds(
    job_queue: str, client: Any | None = None, now_epoch_seconds: float | None = None
) -> float | None:
    """Seconds the oldest RUNNABLE job has waited since it was created; None when none wait."""
    return queue_depth(job_queue, client).oldest_age_seconds(now_epoch_seconds)


def _client() -> Any:
    # A monitoring pass should report an unreachable endpoint, not hang on it.
    return aws.client("batch", attempts=3)
