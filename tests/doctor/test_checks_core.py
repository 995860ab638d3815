"""Each core check failing for its real cause, through `mlplatform doctor` as a user runs it.

Real peers where they run here: PostgreSQL clusters (with and without TLS, one stopped), moto
in server mode for S3, RDS and CloudWatch. The Metaflow metadata service cannot be installed
here (see tests/servers/metadata_service.py), so its check talks to a loopback stand-in that
answers the service's documented routes; stopping the stand-in leaves a dead port, as a
crashed service would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.conftest import CliResult, free_port, run_cli
from tests.servers.metadata_service import MetadataServiceStandIn, metadata_service
from tests.servers.postgres import PostgresServer, start_postgres


@pytest.fixture(autouse=True)
def own_metaflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "metaflowconfig"
    home.mkdir()
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    for key in ("METAFLOW_PROFILE", "METAFLOW_DEFAULT_METADATA", "METAFLOW_SERVICE_URL",
                "METAFLOW_DATASTORE_SYSROOT_S3", "METAFLOW_BATCH_JOB_QUEUE"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    return home


def doctor(check_id: str, workdir: Path, **env: str) -> tuple[CliResult, dict]:
    """Run one check with `--json`; return the CLI result and the check's entry."""
    result = run_cli("doctor", "--only", check_id, "--json", cwd=workdir, env=env)
    assert "Traceback" not in result.stdout + result.stderr
    (entry,) = json.loads(result.stdout)["checks"]
    assert result.code == (1 if entry["status"] == "fail" else 0)
    return result, entry


# --- local -----------------------------------------------------------------------------------


def test_local_reports_versions_and_where_each_value_comes_from(
    workdir: Path, own_metaflow_home: Path
) -> None:
    profile = {"METAFLOW_DEFAULT_METADATA": "service", "METAFLOW_SERVICE_URL": "http://mf:8080",
               "METAFLOW_DATASTORE_SYSROOT_S3": "s3://from-profile/metaflow"}  # fmt: skip
    (own_metaflow_home / "config_team.json").write_text(json.dumps(profile))
    _, entry = doctor("local", workdir, METAFLOW_PROFILE="team",
                      METAFLOW_DATASTORE_SYSROOT_S3="s3://from-env/metaflow")  # fmt: skip
    assert entry["status"] == "pass"
    assert "Metaflow 2." in entry["summary"] and "service metadata" in entry["summary"]
    details = "\n".join(entry["details"])
    path = own_metaflow_home / "config_team.json"
    assert f"METAFLOW_SERVICE_URL = http://mf:8080 (from profile {path})" in details
    assert (
        "METAFLOW_DATASTORE_SYSROOT_S3 = s3://from-env/metaflow (from environment variable)"
        in details
    )
    assert "METAFLOW_BATCH_JOB_QUEUE = (unset) (from Metaflow default)" in details


def test_local_fails_on_a_profile_that_is_not_json(workdir: Path, own_metaflow_home: Path) -> None:
    (own_metaflow_home / "config.json").write_text('{"METAFLOW_SERVICE_URL": "http://mf",}')
    result, entry = doctor("local", workdir)
    assert result.code == 1
    assert "Metaflow profile unusable" in entry["summary"]
    assert "config.json is not valid JSON (line 1" in entry["summary"]


def test_local_fails_when_the_named_profile_does_not_exist(workdir: Path) -> None:
    _, entry = doctor("local", workdir, METAFLOW_PROFILE="staging")
    assert entry["status"] == "fail"
    assert (
        "METAFLOW_PROFILE names" in entry["summary"] and "config_staging.json" in entry["summary"]
    )


# --- metadata service --------------------------------------------------------------------------


@pytest.fixture
def service() -> Iterator[MetadataServiceStandIn]:
    with metadata_service() as stand_in:
        yield stand_in


def service_env(service: MetadataServiceStandIn, **more: str) -> dict[str, str]:
    return {"MLPLATFORM_METADATA__SERVICE_URL": service.url,
            "MLPLATFORM_METADATA__MIGRATION_URL": service.migration_url, **more}  # fmt: skip


def test_metadata_service_healthy(workdir: Path, service: MetadataServiceStandIn) -> None:
    _, entry = doctor("metadata-service", workdir, **service_env(service))
    assert entry["status"] == "pass"
    assert entry["summary"].startswith("up, version 2.5.1")
    assert "schema: current 20260912191955, latest 20260912191955, 0 unapplied" in entry["details"]
    assert {"metadata /ping", "metadata /healthcheck", "migration /db_schema_status"} <= set(
        service.requests
    )


def test_metadata_service_not_configured_means_local_metadata(workdir: Path) -> None:
    _, entry = doctor("metadata-service", workdir)
    assert entry["status"] == "not configured"
    assert "local" in entry["summary"]


def test_metadata_service_stopped(workdir: Path) -> None:
    with metadata_service() as stand_in:
        env = service_env(stand_in)
    _, entry = doctor("metadata-service", workdir, **env)  # the server is gone: a dead port
    assert entry["status"] == "fail"
    assert entry["summary"].startswith(
        f"cannot reach the metadata service at {env['MLPLATFORM_METADATA__SERVICE_URL']}"
    )
    assert "Connection refused" in entry["summary"]
    assert "ECS" in entry["action"]


def test_metadata_service_database_down(workdir: Path, service: MetadataServiceStandIn) -> None:
    service.db_down = True
    _, entry = doctor("metadata-service", workdir, **service_env(service))
    assert entry["status"] == "fail"
    assert "the service cannot reach its database (/healthcheck answered 500" in entry["summary"]
    assert "--only postgres" in entry["action"]


def test_metadata_service_schema_behind(workdir: Path, service: MetadataServiceStandIn) -> None:
    service.schema_behind = True
    _, entry = doctor("metadata-service", workdir, **service_env(service))
    assert entry["status"] == "fail"
    assert ("schema behind: current 20240509201906, latest 20260912191955 "
            "(2 unapplied migrations)") in entry["summary"]  # fmt: skip
    assert f"curl -X PATCH {service.migration_url}/upgrade" in entry["action"]


def test_metadata_service_slow(workdir: Path, service: MetadataServiceStandIn) -> None:
    service.slow_seconds = 0.6
    env = service_env(service, MLPLATFORM_METADATA__SLOW_RESPONSE_SECONDS="0.3")
    _, entry = doctor("metadata-service", workdir, **env)
    assert entry["status"] == "fail"
    assert entry["summary"].startswith("slow: /ping took ")
    assert "(threshold 0.3 s)" in entry["summary"]


def test_metadata_service_migration_service_down(
    workdir: Path, service: MetadataServiceStandIn
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = service_env(service, MLPLATFORM_METADATA__MIGRATION_URL=dead)
    _, entry = doctor("metadata-service", workdir, **env)
    assert entry["status"] == "fail"
    assert f"cannot reach the migration service at {dead}" in entry["summary"]


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("pg-plain"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ssl_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("pg-ssl"), ssl=True)
    yield server
    server.stop()


def test_postgres_over_ssl_passes(workdir: Path, ssl_postgres: PostgresServer) -> None:
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=ssl_postgres.url)
    assert entry["status"] == "pass", entry
    assert entry["summary"] == f"127.0.0.1:{ssl_postgres.port}/postgres reachable over SSL"
    assert any(d.startswith("SSL in use (TLS") for d in entry["details"])
    assert "free storage not checked: metadata.rds_instance_id is unset" in entry["details"]


def test_postgres_without_ssl_fails(workdir: Path, plain_postgres: PostgresServer) -> None:
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=plain_postgres.url)
    assert entry["status"] == "fail"
    assert entry["summary"] == (
        f"the connection to 127.0.0.1:{plain_postgres.port}/postgres is not encrypted (no SSL)"
    )
    assert "rds.force_ssl=1" in entry["action"]


def test_postgres_stopped(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_postgres(tmp_path_factory.mktemp("pg-stopped"))
    server.stop()
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=server.url)
    assert entry["status"] == "fail"
    assert entry["summary"].startswith(f"cannot connect to 127.0.0.1:{server.port}/postgres: ")
    assert "Connection refused" in entry["summary"]


def test_postgres_replica_that_is_not_a_replica(
    workdir: Path, ssl_postgres: PostgresServer
) -> None:
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=ssl_postgres.url,
                      MLPLATFORM_METADATA__REPLICA_DATABASE_URL=ssl_postgres.url)  # fmt: skip
    assert entry["status"] == "fail"
    assert f"127.0.0.1:{ssl_postgres.port}/postgres is not a replica" in entry["summary"]
    assert "replica_database_url" in entry["action"]


def _rds_instance_with_free_storage(free_gib: float) -> str:
    instance = f"mfdb-{uuid.uuid4().hex[:8]}"
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=instance, DBInstanceClass="db.t3.small", Engine="postgres",
        AllocatedStorage=20, MasterUsername="metaflow", MasterUserPassword="not-a-secret-1",
    )  # fmt: skip
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[{"MetricName": "FreeStorageSpace", "Unit": "Bytes",
                     "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": instance}],
                     "Value": free_gib * 1024**3}],
    )  # fmt: skip
    return instance


def test_postgres_storage_nearly_full(
    aws: str, workdir: Path, ssl_postgres: PostgresServer
) -> None:
    instance = _rds_instance_with_free_storage(1.0)
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=ssl_postgres.url,
                      MLPLATFORM_METADATA__RDS_INSTANCE_ID=instance)  # fmt: skip
    assert entry["status"] == "fail"
    assert entry["summary"] == "storage nearly full: 1.0 GiB free of 20 GiB"
    assert f"--db-instance-identifier {instance}" in entry["action"]


def test_postgres_storage_with_headroom(
    aws: str, workdir: Path, ssl_postgres: PostgresServer
) -> None:
    instance = _rds_instance_with_free_storage(15.0)
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=ssl_postgres.url,
                      MLPLATFORM_METADATA__RDS_INSTANCE_ID=instance)  # fmt: skip
    assert entry["status"] == "pass"
    assert "free storage 15.0 GiB of 20 GiB allocated" in entry["details"]


def test_postgres_unknown_rds_instance(
    aws: str, workdir: Path, ssl_postgres: PostgresServer
) -> None:
    _, entry = doctor("postgres", workdir, MLPLATFORM_METADATA__DATABASE_URL=ssl_postgres.url,
                      MLPLATFORM_METADATA__RDS_INSTANCE_ID="no-such-db")  # fmt: skip
    assert entry["status"] == "fail"
    assert entry["summary"].startswith("rds: DBInstanceNotFound while describing the DB instance")


# --- S3 datastore -------------------------------------------------------------------------------


def _bucket(versioned: bool = True, encrypted: bool = True) -> str:
    bucket = f"doctor-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    if encrypted:
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    return bucket


def s3_doctor(workdir: Path, root: str) -> dict:
    return doctor("s3-datastore", workdir, MLPLATFORM_S3__DATASTORE_ROOT=root)[1]


def test_s3_datastore_healthy_and_the_probe_is_gone(aws: str, workdir: Path) -> None:
    bucket = _bucket()
    entry = s3_doctor(workdir, f"s3://{bucket}/metaflow")
    assert entry["status"] == "pass", entry
    assert entry["summary"] == f"s3://{bucket}/metaflow writable, versioned, encrypted (AES256)"
    assert entry["details"][0].startswith(
        f"wrote, read back and deleted s3://{bucket}/metaflow/mlplatform-doctor/probe-"
    )
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0


def test_s3_datastore_bucket_missing(aws: str, workdir: Path) -> None:
    entry = s3_doctor(workdir, "s3://doctor-no-such-bucket/metaflow")
    assert entry["status"] == "fail"
    assert entry["summary"].startswith(
        "s3: NoSuchBucket while writing the probe object s3://doctor-no-such-bucket/metaflow/"
        "mlplatform-doctor/probe-"
    )
    assert entry["action"].startswith("create the bucket")


def test_s3_datastore_access_denied_by_bucket_policy(aws: str, workdir: Path) -> None:
    bucket = _bucket()
    deny = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}  # fmt: skip
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    entry = s3_doctor(workdir, f"s3://{bucket}/metaflow")
    assert entry["status"] == "fail"
    assert f"while writing the probe object s3://{bucket}/metaflow/" in entry["summary"]
    assert "s3:PutObject/GetObject/DeleteObject" in entry["action"]


def test_s3_datastore_versioning_off(aws: str, workdir: Path) -> None:
    bucket = _bucket(versioned=False)
    entry = s3_doctor(workdir, f"s3://{bucket}/metaflow")
    assert entry["status"] == "fail"
    assert entry["summary"] == f"versioning is off on bucket {bucket} (never enabled)"
    assert "--fix" in entry["action"]


def test_s3_datastore_encryption_off(aws: str, workdir: Path) -> None:
    bucket = _bucket(encrypted=False)
    entry = s3_doctor(workdir, f"s3://{bucket}/metaflow")
    assert entry["status"] == "fail"
    assert entry["summary"] == f"default encryption is off on bucket {bucket}"
    assert "put-bucket-encryption" in entry["action"]


def test_s3_datastore_root_that_is_not_s3(workdir: Path) -> None:
    entry = s3_doctor(workdir, "/tmp/metaflow")
    assert entry["status"] == "fail"
    assert entry["summary"] == "datastore root '/tmp/metaflow' is not an s3:// URL"
