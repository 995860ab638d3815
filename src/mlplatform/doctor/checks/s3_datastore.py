"""s3-datastore: the Metaflow datastore root takes a write, a read and a delete, and its bucket
keeps versions and encrypts by default.

The probe object lives under `<root>/mlplatform-doctor/` so a failed delete leaves it where
nobody mistakes it for an artifact. Versioning is what makes an overwritten or deleted artifact
recoverable; the fixer turns it on (the one repair that is safe to make unattended).
"""

from __future__ import annotations

import uuid
from typing import Any

from mlplatform import aws
from mlplatform.doctor.base import Check, Finding, Fixer, Severity
from mlplatform.errors import PlatformError
from mlplatform.settings import Settings

PROBE_PREFIX = "mlplatform-doctor"
ACCESS_HINT = (
    "grant this identity s3:PutObject/GetObject/DeleteObject on the datastore root "
    "(bucket policy and IAM role); see the runbook's S3 access denied section"
)
HINTS = {
    "NoSuchBucket": "create the bucket (Terraform datastore module) or fix s3.datastore_root",
    "403": ACCESS_HINT,  # a bucket policy's Deny can come back as a bare 403 (HEAD, moto)
}


def datastore_root(settings: Settings) -> str | None:
    return settings.s3.datastore_root or settings.metaflow.datastore_root


def split_root(root: str) -> tuple[str, str]:
    if not root.startswith("s3://") or len(root) <= len("s3://"):
        raise PlatformError(
            f"datastore root {root!r} is not an s3:// URL",
            "set s3.datastore_root=s3://bucket/prefix",
        )
    bucket, _, prefix = root[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def _probe(s3: Any, bucket: str, prefix: str) -> str:
    key = "/".join(p for p in (prefix, PROBE_PREFIX, f"probe-{uuid.uuid4()}") if p)
    body = f"mlplatform doctor probe {key}".encode()
    where = f"s3://{bucket}/{key}"
    common: dict[str, Any] = {"access_hint": ACCESS_HINT, "hints": HINTS}
    with aws.calling("s3", f"writing the probe object {where}", **common):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    with aws.calling("s3", f"reading back the probe object {where}", **common):
        read = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with aws.calling("s3", f"deleting the probe object {where}", **common):
        s3.delete_object(Bucket=bucket, Key=key)
    if read != body:
        raise PlatformError(
            f"s3: the probe object {where} read back different bytes",
            "check for a proxy or a lifecycle rule rewriting objects",
        )
    return where


def versioning_status(s3: Any, bucket: str) -> str:
    with aws.calling("s3", f"reading versioning of bucket {bucket}", access_hint=ACCESS_HINT):
        return str(s3.get_bucket_versioning(Bucket=bucket).get("Status") or "never enabled")


def _encryption(s3: Any, bucket: str) -> str | None:
    """The default encryption algorithm, or None when the bucket has none."""
    try:
        with aws.calling("s3", f"reading encryption of bucket {bucket}", access_hint=ACCESS_HINT):
            config = s3.get_bucket_encryption(Bucket=bucket)
    except PlatformError as exc:
        if "ServerSideEncryptionConfigurationNotFoundError" in exc.headline:
            return None
        raise
    rules = config.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = [
        rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in rules
    ]
    return ", ".join(a for a in algorithms if a) or None


def run(settings: Settings) -> Finding:
    root = datastore_root(settings)
    if not root:
        return Finding.not_configured(
            "s3.datastore_root is unset: Metaflow keeps artifacts on local disk"
        )
    bucket, prefix = split_root(root)
    s3 = aws.client("s3")
    where = _probe(s3, bucket, prefix)
    details = [f"wrote, read back and deleted {where}"]
    problems: list[tuple[str, str]] = []
    versioning = versioning_status(s3, bucket)
    details.append(f"versioning: {versioning}")
    if versioning != "Enabled":
        problems.append(
            (
                f"versioning is off on bucket {bucket} ({versioning})",
                f"`mlplatform doctor --only s3-datastore --fix`, or `aws s3api "
                f"put-bucket-versioning --bucket {bucket} --versioning-configuration "
                "Status=Enabled`",
            )
        )
    algorithm = _encryption(s3, bucket)
    details.append(f"default encryption: {algorithm or 'none'}")
    if not algorithm:
        problems.append(
            (
                f"default encryption is off on bucket {bucket}",
                f"turn on SSE-KMS with the datastore key (Terraform datastore module) or "
                f"`aws s3api put-bucket-encryption --bucket {bucket} ...`",
            )
        )
    if problems:
        return Finding.failed(
            "; ".join(what for what, _ in problems), *details, action=problems[0][1]
        )
    return Finding.passed(f"{root} writable, versioned, encrypted ({algorithm})", *details)


def plan_versioning(settings: Settings, finding: Finding) -> list[str]:
    root = datastore_root(settings)
    if not root:
        return []
    bucket, _ = split_root(root)
    if versioning_status(aws.client("s3"), bucket) == "Enabled":
        return []
    return [
        f"turn versioning on for bucket {bucket}: s3:PutBucketVersioning Status=Enabled "
        f"(aws s3api put-bucket-versioning --bucket {bucket} "
        "--versioning-configuration Status=Enabled)"
    ]


def enable_versioning(settings: Settings, finding: Finding) -> str:
    root = datastore_root(settings)
    assert root, "planned without a datastore root"
    bucket, _ = split_root(root)
    with aws.calling("s3", f"enabling versioning on bucket {bucket}", access_hint=ACCESS_HINT):
        aws.client("s3").put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    return f"enabled versioning on bucket {bucket}"


CHECK = Check(
    id="s3-datastore",
    title="S3 datastore",
    checks="Write, read and delete a probe object under the datastore root; bucket versioning "
    "and default encryption on.",
    action="fix the bucket or this identity's access to it; see the runbook",
    severity=Severity.CRITICAL,
    time_to_resolve="15 minutes",
    run=run,
    fixer=Fixer(plan=plan_versioning, apply=enable_versioning),
)
