"""Each user's S3 prefix and IAM role (SPEC: the user manager owns everything per user).

Onboarding ensures `users/<user>/` in the users bucket and a role `mlplatform-user-<user>` under
`/mlplatform/users/`, trusted by the JupyterHub host role (the spawner hands the user's server
credentials for it) and limited by the Terraform-owned boundary, with a customer-managed policy
of the same name for the prefix and Batch submission. When `hub_host_role_arn` is unset the
trust falls back to the account root (`arn:aws:iam::<account>:root`): then any principal of the
account whose own policy allows `sts:AssumeRole` on the role can assume it; set the hub role in
production.

Offboarding takes the role's access away and deletes nothing of the user's: it adds an inline
deny-all policy, detaches the policy and archives the home to
`archive/users/<user>/<UTC time>.tar.gz`. An explicit deny beats every allow, so sessions
already issued lose access at once, as the console's "revoke active sessions" does; it comes
first so a failure later in the run never leaves access behind. Re-onboarding lifts the deny.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

from mlplatform.errors import PlatformError
from mlplatform.settings import Settings
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.names import validate_username
from mlplatform.users.plan import Action, Verb
from mlplatform.users.provision.aws_api import (
    DENY_ALL,
    ROLE_PATH,
    ClientFactory,
    as_document,
    attached_policies,
    aws_client,
    calling,
    new_policy_version,
    or_none,
    tag_list,
    trust_policy,
    user_policy,
)
from mlplatform.users.provision.home import home_dir

REVOKE_POLICY = "mlplatform-offboarded"
ARCHIVE_PREFIX = "archive/users"
FINGERPRINT = "home-fingerprint"  # S3 metadata key on each archive


def home_fingerprint(home: Path) -> str:
    """A digest of every entry's path, size, mode and mtime: equal means nothing to re-archive."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(home):  # does not descend into symlinked folders
        dirs.sort()
        for name in [".", *sorted(files)]:
            try:
                st = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:
                continue  # removed while walking: it will not be in the archive either
            rel = os.path.relpath(os.path.join(folder, name), home)
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mode}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _action(
    component: str, verb: Verb, target: str, detail: str, call: Callable[..., Any], **params: Any
) -> Action:
    """An action whose run makes one AWS call, its failure one line naming the service."""

    def run() -> None:
        with calling(component.upper(), f"applying '{verb} {target}'"):
            call(**params)

    return Action(component, verb, target, detail, run)


class AwsProvisioner:
    """Owns the user's S3 prefix and IAM role; its actions name component "s3" or "iam".

    Plans nothing when `users.users_bucket` is unset (S3 not configured for this site).
    """

    component = "aws"

    def __init__(self, settings: Settings, home_root: Path, client: ClientFactory = aws_client):
        self.users = settings.users
        self.batch_job_role_arn = settings.metaflow.batch_job_role_arn
        self.datastore_root = settings.metaflow.datastore_root
        self.home_root = Path(home_root)
        # One client per service for the provisioner's life: creating one costs ~20 ms.
        self._client = cache(client)
        self._caller: tuple[str, str] | None = None

    def plan_onboard(self, spec: UserSpec, user: DirectoryUser) -> list[Action]:
        bucket = self.users.users_bucket
        if not bucket:
            return []
        actions = self._plan_prefix(bucket, validate_username(user.username))
        if self.users.iam_enabled:
            actions += self._plan_role(spec, user.username)
            actions += self._plan_policy(bucket, user.username)
            actions += self._plan_lift(user.username)
        return actions

    def plan_offboard(self, user: DirectoryUser) -> list[Action]:
        bucket = self.users.users_bucket
        if not bucket:
            return []
        validate_username(user.username)  # it becomes an IAM name, an S3 key and a path
        actions = self._plan_revoke(user.username) if self.users.iam_enabled else []
        return actions + self._plan_archive(bucket, user.username)

    def _account(self) -> tuple[str, str]:
        """(partition, account id) of the identity running the user manager."""
        if self._caller is None:
            with calling("STS", "reading the caller identity"):
                identity = self._client("sts").get_caller_identity()
            self._caller = (str(identity["Arn"]).split(":")[1], str(identity["Account"]))
        return self._caller

    def _policy_arn(self, name: str) -> str:
        partition, account = self._account()
        return f"arn:{partition}:iam::{account}:policy{ROLE_PATH}{name}"

    def _plan_prefix(self, bucket: str, username: str) -> list[Action]:
        s3, key = self._client("s3"), f"users/{username}/"
        with calling("S3", f"reading s3://{bucket}/{key}"):
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        if listed.get("KeyCount", 0):
            return []
        put = {"Bucket": bucket, "Key": key, "Body": b""}
        return [_action("s3", "create", f"s3://{bucket}/{key}", "marker", s3.put_object, **put)]

    def _plan_role(self, spec: UserSpec, username: str) -> list[Action]:
        iam, name = self._client("iam"), f"mlplatform-user-{username}"
        act, target = partial(_action, "iam"), f"role {name}"
        partition, account = self._account()
        principal = self.users.hub_host_role_arn or f"arn:{partition}:iam::{account}:root"
        trust, boundary = trust_policy(principal), self.users.permissions_boundary_arn
        tags = {"owner": username, "team": spec.team, "managed-by": "mlplatform"}
        with calling("IAM", f"reading {target}"):
            found = or_none(iam.get_role, RoleName=name)
        if found is None:
            create: dict[str, Any] = {"RoleName": name, "Path": ROLE_PATH, "Tags": tag_list(tags)}
            create["AssumeRolePolicyDocument"] = json.dumps(trust)
            if boundary:
                create["PermissionsBoundary"] = boundary
            return [act("create", target, f"trusted by {principal}", iam.create_role, **create)]
        role = found["Role"]
        if role["Path"] != ROLE_PATH:
            raise PlatformError(
                f"IAM role {name} exists under path {role['Path']}, not {ROLE_PATH}",
                "it was not made by mlplatform: rename or delete it, then re-run onboarding",
            )
        actions = []
        if as_document(role["AssumeRolePolicyDocument"]) != trust:
            update = {"RoleName": name, "PolicyDocument": json.dumps(trust)}
            detail = f"trust {principal}"
            actions.append(act("update", target, detail, iam.update_assume_role_policy, **update))
        current_boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if boundary and current_boundary != boundary:
            put = {"RoleName": name, "PermissionsBoundary": boundary}
            detail = f"boundary {boundary}"
            actions.append(act("update", target, detail, iam.put_role_permissions_boundary, **put))
        current_tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if stale := {k: v for k, v in tags.items() if current_tags.get(k) != v}:
            tag = {"RoleName": name, "Tags": tag_list(stale)}
            actions.append(act("update", target, f"tags {stale}", iam.tag_role, **tag))
        return actions

    def _plan_policy(self, bucket: str, username: str) -> list[Action]:
        iam, name = self._client("iam"), f"mlplatform-user-{username}"
        act, target, arn = partial(_action, "iam"), f"policy {name}", self._policy_arn(name)
        wanted = user_policy(
            self._account()[0], bucket, username, self.batch_job_role_arn, self.datastore_root
        )
        current: dict[str, Any] | None = None
        attached: set[str] = set()
        with calling("IAM", f"reading {target}"):
            if found := or_none(iam.get_policy, PolicyArn=arn):
                version = found["Policy"]["DefaultVersionId"]
                reply = iam.get_policy_version(PolicyArn=arn, VersionId=version)
                current = as_document(reply["PolicyVersion"]["Document"])
                attached = or_none(attached_policies, iam=iam, role=name) or set()
        actions = []
        if not found:
            create: dict[str, Any] = {"PolicyName": name, "Path": ROLE_PATH}
            create["PolicyDocument"] = json.dumps(wanted)
            create["Tags"] = tag_list({"owner": username, "managed-by": "mlplatform"})
            detail = f"s3://{bucket}/users/{username}/ and Batch"
            actions.append(act("create", target, detail, iam.create_policy, **create))
        elif current != wanted:
            update = {"iam": iam, "arn": arn, "document": wanted}
            detail = "drifted: new default version"
            actions.append(act("update", target, detail, new_policy_version, **update))
        if arn not in attached:
            attach = {"RoleName": name, "PolicyArn": arn}
            detail = f"attach to role {name}"
            actions.append(act("add", target, detail, iam.attach_role_policy, **attach))
        return actions

    def _plan_lift(self, username: str) -> list[Action]:
        """Re-onboarding a revoked user: last, so access returns only once all else is in place."""
        iam, name = self._client("iam"), f"mlplatform-user-{username}"
        with calling("IAM", f"reading role {name}"):
            found = or_none(iam.get_role_policy, RoleName=name, PolicyName=REVOKE_POLICY)
        if not found:
            return []
        lift = {"RoleName": name, "PolicyName": REVOKE_POLICY}
        detail = f"delete deny policy {REVOKE_POLICY}"
        return [_action("iam", "unlock", f"role {name}", detail, iam.delete_role_policy, **lift)]

    def _plan_revoke(self, username: str) -> list[Action]:
        iam, name = self._client("iam"), f"mlplatform-user-{username}"
        act, arn = partial(_action, "iam"), self._policy_arn(name)
        with calling("IAM", f"reading role {name}"):
            if or_none(iam.get_role, RoleName=name) is None:
                return []
            deny = or_none(iam.get_role_policy, RoleName=name, PolicyName=REVOKE_POLICY)
            attached = attached_policies(iam, name)
        actions = []
        if deny is None or as_document(deny["PolicyDocument"]) != DENY_ALL:
            put = {"RoleName": name, "PolicyName": REVOKE_POLICY}
            put["PolicyDocument"] = json.dumps(DENY_ALL)
            detail = "deny-all inline policy, ends active sessions"
            actions.append(act("revoke", f"role {name}", detail, iam.put_role_policy, **put))
        if arn in attached:
            detach = {"RoleName": name, "PolicyArn": arn}
            detail = f"detach from role {name}"
            actions.append(
                act("remove", f"policy {name}", detail, iam.detach_role_policy, **detach)
            )
        return actions

    def _plan_archive(self, bucket: str, username: str) -> list[Action]:
        home = home_dir(self.home_root, username)
        if not home.is_dir():
            return []
        s3, prefix = self._client("s3"), f"{ARCHIVE_PREFIX}/{username}/"
        with calling("S3", f"listing s3://{bucket}/{prefix}"):
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
            # Keys are UTC timestamps, so the greatest is the newest archive.
            head = s3.head_object(Bucket=bucket, Key=max(keys)) if keys else {}
        if head.get("Metadata", {}).get(FINGERPRINT) == home_fingerprint(home):
            return []  # archived already, and unchanged since

        def archive() -> None:
            self.archive_home(bucket, username)

        detail = f"to s3://{bucket}/{prefix}<UTC time>.tar.gz"
        return [Action("s3", "archive", str(home), detail, archive)]

    def archive_home(self, bucket: str, username: str) -> str:
        """Upload `<home>.tar.gz` now and return its key; symlinks are stored, never followed."""
        home = home_dir(self.home_root, username)
        key = f"{ARCHIVE_PREFIX}/{username}/{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
        # Taken before reading: a change made while archiving shows up on the next run.
        fingerprint = home_fingerprint(home)
        # Spooled to a temporary file (TMPDIR), not piped: a tar error can then never leave a
        # truncated archive in S3 that the next run would take for a complete one.
        with tempfile.TemporaryFile() as spool:
            try:
                with tarfile.open(fileobj=spool, mode="w:gz") as tar:
                    tar.add(home, arcname=username)
            except OSError as exc:
                raise PlatformError(
                    f"cannot archive home {home}: {exc}",
                    "stop the user's server so files stop changing, then re-run offboarding",
                ) from None
            spool.seek(0)
            with calling("S3", f"uploading s3://{bucket}/{key}"):
                self._client("s3").upload_fileobj(
                    spool, bucket, key, ExtraArgs={"Metadata": {FINGERPRINT: fingerprint}}
                )
        return key
