"""The user manager's one AWS wrapper: clients, error translation and the IAM documents it writes.

Clients take their endpoint from boto3's own settings (`AWS_ENDPOINT_URL`,
`AWS_ENDPOINT_URL_<SERVICE>`) and get short timeouts and few retries, so a dead endpoint fails
within seconds instead of botocore's minutes. Every AWS failure becomes one `PlatformError`
naming the service and what to do. The documents are pure functions so a plan can compare them
with what IAM holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from mlplatform import aws

ROLE_PATH = "/mlplatform/users/"
MAX_POLICY_VERSIONS = 5  # IAM's limit per managed policy
# Metaflow describes queues and compute environments and registers job definitions per run.
BATCH_ACTIONS = [
    "batch:SubmitJob",
    "batch:DescribeJobs",
    "batch:ListJobs",
    "batch:TerminateJob",
    "batch:TagResource",
    "batch:DescribeJobQueues",
    "batch:DescribeComputeEnvironments",
    "batch:DescribeJobDefinitions",
    "batch:RegisterJobDefinition",
]
DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Offboarded", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}

ClientFactory = Callable[[str], Any]


def aws_client(service: str) -> Any:
    return aws.client(service)


@contextmanager
def calling(service: str, doing: str) -> Iterator[None]:
    """Botocore failures as one line, with the user manager's hints."""
    with aws.calling(
        service,
        doing,
        access_hint=f"grant the identity running the user manager this {service} permission",
        hints={"NoSuchBucket": "create the bucket with Terraform or fix users.users_bucket"},
        default_hint="fix the cause and re-run: the next run repairs what this one left",
    ):
        yield


def or_none(call: Callable[..., Any], **params: Any) -> Any:
    """`call(**params)`, or None when IAM or S3 says the thing does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchEntity", "NoSuchKey", "404"):
            return None
        raise


def as_document(value: str | dict[str, Any]) -> dict[str, Any]:
    """A policy document as IAM returns it: botocore decodes it; a raw reply is URL-quoted."""
    return json.loads(unquote(value)) if isinstance(value, str) else value


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def trust_policy(principal: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


def user_policy(
    partition: str,
    bucket: str,
    username: str,
    batch_job_role_arn: str | None = None,
    datastore_root: str | None = None,
) -> dict[str, Any]:
    """The user's own prefix, the Metaflow datastore, and Batch submission.

    The datastore is shared and content-addressed (one stored object serves many runs), so
    every user reads and writes the whole root; the permissions boundary narrows the rest.
    """
    prefix = f"users/{username}/"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListOwnPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:{partition}:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        },
        {
            "Sid": "ReadWriteOwnPrefix",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
        },
        {"Sid": "SubmitBatchJobs", "Effect": "Allow", "Action": BATCH_ACTIONS, "Resource": "*"},
    ]
    if datastore_root and datastore_root.startswith("s3://"):
        store_bucket, _, store_prefix = datastore_root[5:].partition("/")
        store_prefix = store_prefix.strip("/")
        keys = f"{store_prefix}/*" if store_prefix else "*"
        statements += [
            {
                "Sid": "ListDatastore",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{store_bucket}",
                "Condition": {"StringLike": {"s3:prefix": [keys]}},
            },
            {
                "Sid": "ReadWriteDatastore",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:{partition}:s3:::{store_bucket}/{keys}",
            },
        ]
    if batch_job_role_arn:
        # Registering a job definition that names the job role means passing that role.
        statements.append(
            {
                "Sid": "PassBatchJobRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": batch_job_role_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def new_policy_version(iam: Any, arn: str, document: dict[str, Any]) -> None:
    """Make `document` the default version, first dropping the oldest if IAM's limit is hit."""
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = min(
            (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
        )
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)


def attached_policies(iam: Any, role: str) -> set[str]:
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=role)
    return {p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]}
