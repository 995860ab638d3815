"""Per-user provisioning against a real moto server and a temporary home root.

Each test onboards its own user (moto's IAM is shared by the session), applies the plan by
running each action, and checks what a user or an auditor would see afterwards.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import uuid
from pathlib import Path

import boto3
import pytest

from mlplatform.errors import PlatformError
from mlplatform.settings import MetaflowProfileSettings, Settings, UsersSettings
from mlplatform.users.model import DirectoryUser, UserSpec
from mlplatform.users.plan import Action
from mlplatform.users.provision.aws import AwsProvisioner
from mlplatform.users.provision.home import HomeProvisioner, home_dir
from mlplatform.users.provision.metaflow_profile import MetaflowProfileProvisioner, profile_for
from tests.conftest import AWS_ENV, free_port

HUB_ROLE = "arn:aws:iam::123456789012:role/mlplatform-hub-host"
UID, GID = 23456, 23457
METAFLOW = MetaflowProfileSettings(
    service_url="https://metadata.example.internal/api",
    datastore_root="s3://artifacts/metaflow",
    batch_job_queue="mlplatform-cpu",
    batch_job_role_arn="arn:aws:iam::123456789012:role/batch-s3-task",
    sfn_role_arn=None,
    extra={"METAFLOW_SERVICE_AUTH_KEY": "s3cr3t-key-value"},
)


@pytest.fixture
def aws(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh users bucket on the moto server; AWS clients point at it through AWS_ENV."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    bucket = f"users-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def boundary(aws: str) -> str:
    name, doc = f"boundary-{uuid.uuid4().hex[:8]}", policy({"Action": "*", "Resource": "*"})
    return boto3.client("iam").create_policy(PolicyName=name, PolicyDocument=doc)["Policy"]["Arn"]


@pytest.fixture
def user() -> tuple[UserSpec, DirectoryUser]:
    name = f"ada{uuid.uuid4().hex[:8]}"
    spec = UserSpec(username=name, full_name="Ada Lovelace", email="ada@example.com", team="growth")
    return spec, DirectoryUser(name, spec.full_name, spec.email, spec.team, UID, GID)


def policy(*statements: dict) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"} | s for s in statements]}
    )


def chain(tmp_path: Path, bucket: str | None, **users: object) -> list:
    settings = Settings(
        users=UsersSettings(users_bucket=bucket, hub_host_role_arn=HUB_ROLE, **users),
        metaflow=METAFLOW,
    )
    return [
        HomeProvisioner(tmp_path),
        MetaflowProfileProvisioner(settings, tmp_path),
        AwsProvisioner(settings, tmp_path),
    ]


def onboard_plan(provisioners: list, spec: UserSpec, user: DirectoryUser) -> list[Action]:
    return [a for p in provisioners for a in p.plan_onboard(spec, user)]


def offboard_plan(provisioners: list, user: DirectoryUser) -> list[Action]:
    return [a for p in provisioners for a in p.plan_offboard(user)]


def apply(actions: list[Action]) -> None:
    for action in actions:
        action.run()


def role_name(user: DirectoryUser) -> str:
    return f"mlplatform-user-{user.username}"


def test_onboarding_creates_everything_and_a_second_plan_is_empty(tmp_path, aws, boundary, user):
    spec, entry = user
    provisioners = chain(tmp_path, aws, permissions_boundary_arn=boundary)
    plan = onboard_plan(provisioners, spec, entry)
    assert [(a.component, a.verb) for a in plan] == [
        ("home", "create"),
        ("metaflow-profile", "create"),
        ("s3", "create"),
        ("iam", "create"),
        ("iam", "create"),
        ("iam", "add"),
    ]
    apply(plan)
    assert onboard_plan(provisioners, spec, entry) == []

    home = tmp_path / entry.username
    st = home.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (UID, GID, 0o700)
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=aws, Prefix=f"users/{entry.username}/")["KeyCount"] == 1
    iam = boto3.client("iam")
    role = iam.get_role(RoleName=role_name(entry))["Role"]
    assert role["Path"] == "/mlplatform/users/"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": HUB_ROLE}
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["team"] == "growth"
    attached = iam.list_attached_role_policies(RoleName=role_name(entry))["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [role_name(entry)]
    managed = iam.get_policy(PolicyArn=attached[0]["PolicyArn"])["Policy"]
    document = iam.get_policy_version(
        PolicyArn=managed["Arn"], VersionId=managed["DefaultVersionId"]
    )
    text = json.dumps(document["PolicyVersion"]["Document"])
    assert f"arn:aws:s3:::{aws}/users/{entry.username}/*" in text
    assert "batch:SubmitJob" in text and "batch:TagResource" in text


def test_profile_content_modes_and_owner(tmp_path, user):
    spec, entry = user
    apply(onboard_plan(chain(tmp_path, None), spec, entry))
    folder = tmp_path / entry.username / ".metaflowconfig"
    path = folder / "config.json"
    profile = json.loads(path.read_text())
    assert profile["METAFLOW_USER"] == entry.username
    assert profile["METAFLOW_BATCH_EMIT_TAGS"] == "true"
    assert json.loads(profile["METAFLOW_BATCH_DEFAULT_TAGS"]) == {
        "owner": entry.username,
        "team": "growth",
    }
    assert profile["METAFLOW_DEFAULT_METADATA"] == "service"
    assert profile["METAFLOW_DATATOOLS_S3ROOT"] == "s3://artifacts/metaflow/data"
    assert "METAFLOW_SFN_IAM_ROLE" not in profile  # unset settings leave no empty keys
    for item, mode in ((folder, 0o700), (path, 0o600)):
        st = item.lstat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (UID, GID, mode)
    assert not [p for p in folder.iterdir() if p.name != "config.json"]  # no temp file left


def test_profile_extra_cannot_change_identity_and_secrets_stay_out_of_plans(tmp_path, user):
    spec, entry = user
    # Terraform outputs an empty service URL when the API gateway is off: no service keys then.
    spoof = METAFLOW.model_copy(update={"service_url": "", "extra": {"METAFLOW_USER": "mallory"}})
    profile = profile_for(entry, "growth", spoof)
    assert profile["METAFLOW_USER"] == entry.username
    assert "METAFLOW_SERVICE_URL" not in profile and "METAFLOW_DEFAULT_METADATA" not in profile
    apply(onboard_plan(chain(tmp_path, None), spec, entry))
    changed = METAFLOW.model_copy(
        update={
            "batch_job_queue": "mlplatform-gpu",
            "extra": {"METAFLOW_SERVICE_AUTH_KEY": "n3w-s3cr3t"},
        }
    )
    settings = Settings(metaflow=changed)
    (update,) = MetaflowProfileProvisioner(settings, tmp_path).plan_onboard(spec, entry)
    assert update.verb == "update"
    assert "METAFLOW_BATCH_JOB_QUEUE: mlplatform-cpu → mlplatform-gpu" in update.detail
    assert "METAFLOW_SERVICE_AUTH_KEY changed" in update.detail
    assert "s3cr3t" not in update.describe()


def test_drift_is_repaired(tmp_path, aws, user):
    spec, entry = user
    provisioners = chain(tmp_path, aws)
    apply(onboard_plan(provisioners, spec, entry))
    home = tmp_path / entry.username
    os.chown(home, 0, 0)
    home.chmod(0o755)
    (home / ".metaflowconfig" / "config.json").write_text('{"METAFLOW_USER": "someone-else"}')
    iam, name = boto3.client("iam"), role_name(entry)
    arn = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"][0]["PolicyArn"]
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    wide = policy({"Action": "s3:*", "Resource": "*"})
    for _ in range(4):  # fills IAM's five versions: the repair must drop the oldest itself
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=wide, SetAsDefault=True)
    stranger = policy(
        {"Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}
    )
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=stranger)

    plan = onboard_plan(provisioners, spec, entry)
    described = "\n".join(a.describe() for a in plan)
    assert "owner 0:0 → 23456:23457" in described and "mode 0755 → 0700" in described
    assert "METAFLOW_USER: someone-else" in described
    iam_changes = [(a.verb, a.target) for a in plan if a.component == "iam"]
    assert iam_changes == [
        ("update", f"role {name}"),
        ("update", f"policy {name}"),
        ("add", f"policy {name}"),
    ]
    apply(plan)
    assert onboard_plan(provisioners, spec, entry) == []
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": HUB_ROLE}
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_offboarding_leaves_no_active_iam_access_and_deletes_nothing(tmp_path, aws, user):
    spec, entry = user
    provisioners = chain(tmp_path, aws)
    apply(onboard_plan(provisioners, spec, entry))
    home = tmp_path / entry.username
    (home / "notes.ipynb").write_text('{"cells": []}')
    (home / "data").mkdir()
    (home / "data" / "train.csv").write_text("x,label\n1,0\n")
    (home / "passwd").symlink_to("/etc/passwd")

    plan = offboard_plan(provisioners, entry)
    assert [(a.component, a.verb) for a in plan] == [
        ("iam", "revoke"),
        ("iam", "remove"),
        ("s3", "archive"),
    ]
    apply(plan)
    assert offboard_plan(provisioners, entry) == []  # nothing left to do, no second archive

    iam, name = boto3.client("iam"), role_name(entry)
    assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == []
    (inline,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
    deny = iam.get_role_policy(RoleName=name, PolicyName=inline)["PolicyDocument"]["Statement"]
    assert deny == [{"Sid": "Offboarded", "Effect": "Deny", "Action": "*", "Resource": "*"}]

    assert (home / "data" / "train.csv").read_text() == "x,label\n1,0\n"
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=aws, Prefix=f"users/{entry.username}/")["KeyCount"] == 1
    (archived,) = s3.list_objects_v2(Bucket=aws, Prefix=f"archive/users/{entry.username}/")[
        "Contents"
    ]
    assert archived["Key"].endswith(".tar.gz")
    body = s3.get_object(Bucket=aws, Key=archived["Key"])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile(f"{entry.username}/data/train.csv").read() == b"x,label\n1,0\n"
        assert tar.getmember(
            f"{entry.username}/passwd"
        ).issym()  # stored as a link, not /etc/passwd

    again = onboard_plan(provisioners, spec, entry)
    assert {(a.verb, a.target) for a in again} == {
        ("add", f"policy {name}"),
        ("unlock", f"role {name}"),
    }
    apply(again)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    assert onboard_plan(provisioners, spec, entry) == []


def test_trust_falls_back_to_the_account_root(tmp_path, aws, user):
    spec, entry = user
    settings = Settings(users=UsersSettings(users_bucket=aws))
    apply(AwsProvisioner(settings, tmp_path).plan_onboard(spec, entry))
    role = boto3.client("iam").get_role(RoleName=role_name(entry))["Role"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"AWS": "arn:aws:iam::123456789012:root"}


def test_unreachable_s3_is_one_platform_error(tmp_path, aws, user, monkeypatch):
    spec, entry = user
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    aws_provisioner = chain(tmp_path, aws)[2]
    with pytest.raises(PlatformError, match=r"^S3: cannot reach AWS .*AWS_ENDPOINT_URL"):
        aws_provisioner.plan_onboard(spec, entry)
    with pytest.raises(PlatformError, match=r"^(STS|IAM): cannot reach AWS"):
        aws_provisioner.plan_offboard(entry)


def test_without_a_users_bucket_nothing_is_planned_or_called(tmp_path, user, monkeypatch):
    spec, entry = user
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    aws_provisioner = chain(tmp_path, None)[2]
    assert aws_provisioner.plan_onboard(spec, entry) == []
    assert aws_provisioner.plan_offboard(entry) == []


def test_homes_escaping_the_root_are_refused(tmp_path, user):
    spec, entry = user
    with pytest.raises(PlatformError, match="not a valid username"):
        home_dir(tmp_path, "../etc")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / entry.username).symlink_to(outside)
    with pytest.raises(PlatformError, match="is a link or lies outside the home root"):
        HomeProvisioner(tmp_path / "root").plan_onboard(spec, entry)
    assert outside.stat().st_uid == os.getuid()


def test_a_planted_metaflowconfig_link_is_refused(tmp_path, user):
    spec, entry = user
    apply(HomeProvisioner(tmp_path).plan_onboard(spec, entry))
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / entry.username / ".metaflowconfig").symlink_to(target)
    with pytest.raises(PlatformError, match="is not a folder"):
        MetaflowProfileProvisioner(Settings(metaflow=METAFLOW), tmp_path).plan_onboard(spec, entry)
    assert list(target.iterdir()) == []


def test_missing_root_and_refused_chown_are_platform_errors(tmp_path, user, monkeypatch):
    spec, entry = user
    with pytest.raises(PlatformError, match=r"home root .* does not exist"):
        HomeProvisioner(tmp_path / "not-mounted").plan_onboard(spec, entry)

    def refuse(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    (create,) = HomeProvisioner(tmp_path).plan_onboard(spec, entry)
    with pytest.raises(PlatformError, match="run onboarding as root"):
        create.run()
