"""Every template compiles to a Step Functions state machine and an Argo WorkflowTemplate.

Metaflow's `step-functions create --only-json` registers the Batch job definition and prints
the state machine without deploying it; `argo-workflows create --only-json` prints the
WorkflowTemplate. The AWS endpoint is moto, holding what a deployed
platform has (artifacts bucket, Batch compute environment and queue); the assertions are on
the compiled JSON: every step, each tuning round's fan-out as a Map state / withParam loop,
and the spec's cpu and memory on the steps that declare them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from mlplatform.pipelines.flows import TEMPLATES
from mlplatform.pipelines.launcher import metaflow_user
from tests.conftest import AWS_ENV, REPO

pytestmark = pytest.mark.slow
ACCOUNT = "123456789012"
EXAMPLES = REPO / "examples" / "pipelines"


@dataclass(frozen=True)
class Template:
    task: str
    example: str
    steps: frozenset[str]
    heavy: frozenset[str]  # steps with @resources from the spec
    fan_outs: frozenset[str]  # foreach bodies


TRAINING_STEPS = frozenset({"start", "ingest", "validate", "split", "tune", "learn",
                            "round_two", "tune_more", "select", "train", "evaluate", "register",
                            "end"})  # fmt: skip
TRAINING_HEAVY = frozenset({"ingest", "validate", "split", "tune", "tune_more", "train",
                            "evaluate"})  # fmt: skip
TUNING = frozenset({"tune", "tune_more"})
TEMPLATE_CASES = [
    Template(
        "classification", "appsflyer_d7_purchase.yaml", TRAINING_STEPS, TRAINING_HEAVY, TUNING
    ),
    Template("regression", "appsflyer_d30_revenue.yaml", TRAINING_STEPS, TRAINING_HEAVY, TUNING),
    Template("nlp", "support_messages.yaml", TRAINING_STEPS, TRAINING_HEAVY, TUNING),
    Template(
        "scoring",
        "score_d7_purchase.yaml",
        frozenset({"start", "ingest", "validate", "predict", "end"}),
        frozenset({"ingest", "validate", "predict"}),
        frozenset(),
    ),
]


def _clients(endpoint: str) -> dict[str, str]:
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="module")
def batch_platform(aws_endpoint: str) -> dict[str, str]:
    """The AWS side of a deployed platform, in moto: bucket, network, Batch queue."""
    clients = _clients(aws_endpoint)
    boto3.client("s3", **clients).create_bucket(Bucket="metaflow-artifacts-sfn")
    ec2 = boto3.client("ec2", **clients)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="batch", Description="batch", VpcId=vpc)
    iam = boto3.client("iam", **clients)
    iam.create_instance_profile(InstanceProfileName="ecs-instance")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=json.dumps(trust))
    batch = boto3.client("batch", **clients)
    environment = batch.create_compute_environment(
        computeEnvironmentName="mlplatform-cpu",
        type="MANAGED",
        state="ENABLED",
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/batch-service",
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 64,
            "instanceTypes": ["optimal"],
            "subnets": [subnet],
            "securityGroupIds": [group["GroupId"]],
            "instanceRole": f"arn:aws:iam::{ACCOUNT}:instance-profile/ecs-instance",
        },
    )
    batch.create_job_queue(
        jobQueueName="mlplatform-cpu",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
        ],
    )
    return {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": aws_endpoint,
        "METAFLOW_USER": metaflow_user(),
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://metaflow-artifacts-sfn/metaflow",
        "METAFLOW_S3_ENDPOINT_URL": aws_endpoint,
        "METAFLOW_BATCH_JOB_QUEUE": "mlplatform-cpu",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/metaflow-batch",
        "METAFLOW_SFN_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/metaflow-sfn",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": f"arn:aws:iam::{ACCOUNT}:role/metaflow-events",
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "metaflow-sfn-state",
    }


def _compile(tmp_path: Path, env: dict[str, str], scheduler: str, template: Template) -> dict:
    """`<scheduler> create --only-json` of the template's example spec with 2 vCPUs and 8 GB
    per task."""
    spec = yaml.safe_load((EXAMPLES / template.example).read_text())
    spec["resources"] = {"cpu": 2, "memory": 8192}
    spec.get("scoring", {}).pop("train_spec", None)  # a relative path; compiling needs none
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    _, flow_file = TEMPLATES[template.task]
    compiled = subprocess.run(
        [sys.executable, str(flow_file), "--config", "pipeline", str(spec_path),
         scheduler, "create", "--only-json"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    return json.loads(compiled.stdout[compiled.stdout.index("{") :])


@pytest.mark.parametrize("template", TEMPLATE_CASES, ids=lambda t: t.task)
def test_template_compiles_to_step_functions(
    tmp_path: Path, batch_platform: dict[str, str], template: Template
) -> None:
    machine = _compile(tmp_path, batch_platform, "step-functions", template)
    states = machine["States"]
    assert {name.lstrip("#*") for name in states} == template.steps  # every step, nothing else
    tasks = {
        name: state
        for name, state in states.items()
        if state["Type"] == "Task" and "JobQueue" in state["Parameters"]
    }
    for body in template.fan_outs:
        fan_out = states[f"*{body}"]
        assert fan_out["Type"] == "Map" and set(fan_out["Iterator"]["States"]) == {body}
        tasks[body] = fan_out["Iterator"]["States"][body]
    assert set(tasks) == template.steps
    for name, task in tasks.items():
        parameters = task["Parameters"]
        assert parameters["JobQueue"] == "mlplatform-cpu"
        overrides = parameters["ContainerOverrides"]["ResourceRequirements"]
        got = {r["Type"]: r["Value"] for r in overrides}
        # The data steps get the spec's resources; bookkeeping steps keep Metaflow's defaults.
        wanted = ("2", "8192") if name in template.heavy else ("1", "4096")
        assert (got["VCPU"], got["MEMORY"]) == wanted, name
    definitions = boto3.client("batch", **_clients(batch_platform["AWS_ENDPOINT_URL"]))
    assert definitions.describe_job_definitions()["jobDefinitions"]  # registered on the way


@pytest.mark.parametrize("template", TEMPLATE_CASES, ids=lambda t: t.task)
def test_template_compiles_to_argo_workflows(
    tmp_path: Path, batch_platform: dict[str, str], template: Template
) -> None:
    kubernetes = {
        "METAFLOW_KUBERNETES_NAMESPACE": "mlplatform",
        "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "metaflow",
    }
    compiled = _compile(tmp_path, batch_platform | kubernetes, "argo-workflows", template)
    assert compiled["kind"] == "WorkflowTemplate"
    assert compiled["metadata"]["namespace"] == "mlplatform"
    # Argo names cannot hold underscores: Metaflow writes `tune_more` as `tune-more`.
    templates = {_step(t["name"]): t for t in compiled["spec"]["templates"]}
    flow_name, _ = TEMPLATES[template.task]
    dag = {_step(task["name"]): task for task in templates[flow_name]["dag"]["tasks"]}
    loops = [name for name, task in dag.items() if "withParam" in task]
    # Each tuning round is a parallel withParam loop over a nested DAG running its body.
    bodies = {_step(t["name"]) for loop in loops for t in templates[loop]["dag"]["tasks"]}
    assert bodies == template.fan_outs and len(loops) == len(template.fan_outs)
    assert set(dag) - set(loops) == template.steps - template.fan_outs
    for step in template.steps:
        requests = templates[step]["container"]["resources"]["requests"]
        cpu, memory = float(requests["cpu"]), float(requests["memory"].rstrip("M"))
        assert (cpu, memory) == ((2, 8192) if step in template.heavy else (1, 4096)), step


def _step(argo_name: str) -> str:
    return argo_name.replace("-", "_")
