"""AWS Batch: the job queue and its compute environments can run jobs, and none wait for ever.

A job RUNNABLE for long is the most common Batch complaint (metaflow#110, #347,
terraform-aws-metaflow#91): the queue accepted it but no compute environment can place it. The
age logic and the cause finder are pure functions over the API's own answers (`list_jobs`
pages, `describe_jobs`, `describe_compute_environments`) so tests feed them recorded pages.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlplatform import aws
from mlplatform.doctor.base import Check, Finding, Fixer, Severity
from mlplatform.errors import PlatformError
from mlplatform.settings import Settings

# vCPUs per size; memory is vCPUs x GiB-per-vCPU of the family. `optimal` means these families.
_SIZES = {
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "9xlarge": 36,
    "12xlarge": 48,
    "16xlarge": 64,
    "18xlarge": 72,
    "24xlarge": 96,
}
_GIB_PER_VCPU = {"c5": 2, "m5": 4, "r5": 8}
_FAMILY_SIZES = {
    "c5": ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "12xlarge", "18xlarge", "24xlarge"),
    "m5": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
    "r5": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
}
# The ECS agent and the OS keep part of an instance's memory: a job asking for the nominal
# memory of the type never fits on it.
_USABLE_MEMORY = 0.94
_FARGATE_MAX = (16, 120 * 1024)  # vCPU, MiB
_DESCRIBE_BATCH = 100  # describe_jobs takes at most 100 ids


@dataclass(frozen=True)
class StuckJob:
    job_id: str
    name: str
    minutes: int
    reason: str


def stuck_jobs(pages: Iterable[Mapping[str, Any]], now_ms: int, max_minutes: int) -> list[StuckJob]:
    """Jobs in `list_jobs` pages (jobStatus=RUNNABLE) created more than `max_minutes` ago,
    oldest first. `createdAt` is the submit time: a job reaches RUNNABLE seconds after it."""
    stuck = []
    for page in pages:
        for job in page.get("jobSummaryList", []):
            if job.get("status", "RUNNABLE") != "RUNNABLE" or "createdAt" not in job:
                continue
            minutes = int((now_ms - int(job["createdAt"])) // 60_000)
            if minutes > max_minutes:
                reason = str(job.get("statusReason", ""))
                stuck.append(StuckJob(job["jobId"], job.get("jobName", ""), minutes, reason))
    return sorted(stuck, key=lambda job: -job.minutes)


def instance_capacity(instance_type: str) -> list[tuple[int, int]]:
    """(vCPU, usable MiB) of each size an `instanceTypes` entry allows; [] when unknown."""
    if instance_type == "optimal":
        return [c for family in _FAMILY_SIZES for c in instance_capacity(family)]
    family, _, size = instance_type.partition(".")
    if family not in _FAMILY_SIZES:
        return []
    sizes = [size] if size else list(_FAMILY_SIZES[family])
    return [
        (_SIZES[s], int(_SIZES[s] * _GIB_PER_VCPU[family] * 1024 * _USABLE_MEMORY))
        for s in sizes
        if s in _SIZES
    ]


def requested(job: Mapping[str, Any]) -> tuple[float, int]:
    """(vCPU, MiB) a `describe_jobs` job asks for: resourceRequirements, else legacy fields."""
    container = job.get("container", {})
    needs = {r["type"]: r["value"] for r in container.get("resourceRequirements", [])}
    vcpus = float(needs.get("VCPU", container.get("vcpus", 0)))
    memory = int(needs.get("MEMORY", container.get("memory", 0)))
    return vcpus, memory


def environment_problems(environments: Iterable[Mapping[str, Any]]) -> list[str]:
    """What keeps each compute environment (describe_compute_environments) from running jobs."""
    problems = []
    for env in environments:
        name = env["computeEnvironmentName"]
        if env.get("status") != "VALID":
            problems.append(
                f"compute environment {name} is {env.get('status')}: {env.get('statusReason', '')}"
            )
        if env.get("state") != "ENABLED":
            problems.append(f"compute environment {name} is {env.get('state')}")
        resources = env.get("computeResources") or {}
        if env.get("type") == "MANAGED" and int(resources.get("maxvCpus", 1)) <= 0:
            problems.append(f"compute environment {name} has maxvCpus 0: it can start nothing")
    return problems


def likely_causes(
    stuck: list[StuckJob],
    jobs: Iterable[Mapping[str, Any]],
    environments: list[Mapping[str, Any]],
) -> list[str]:
    """The usual reasons these jobs stay RUNNABLE, most specific first."""
    causes = environment_problems(environments)
    for env in environments:
        name, resources = env["computeEnvironmentName"], env.get("computeResources") or {}
        # A VALID environment's statusReason is a greeting, not a diagnosis.
        reason = "" if env.get("status") == "VALID" else str(env.get("statusReason", "")).lower()
        if "subnet" in reason or (resources and not resources.get("subnets")):
            causes.append(f"compute environment {name}: subnets missing or invalid")
        if any(w in reason for w in ("not authorized", "role", "iam", "assume")):
            causes.append(f"compute environment {name}: IAM role problem ({env['statusReason']})")
        desired, maximum = resources.get("desiredvCpus", 0), resources.get("maxvCpus", 0)
        if maximum and desired >= maximum:
            causes.append(
                f"compute environment {name} is at its maxvCpus ({desired} of {maximum}): "
                "raise maxvCpus or wait for running jobs"
            )
    largest = _largest_per_environment(environments)
    for job in jobs:
        vcpus, memory = requested(job)
        fits = [
            name
            for name, capacity in largest.items()
            if capacity is None or any(c >= vcpus and m >= memory for c, m in capacity)
        ]
        if largest and not fits:
            shown = ", ".join(
                f"{name}: {max(c for c, _ in cap)} vCPU / {max(m for _, m in cap) // 1024} GiB"
                for name, cap in largest.items()
                if cap
            )
            causes.append(
                f"job {job.get('jobName', job['jobId'])} asks {vcpus:g} vCPU / {memory} MiB: "
                f"no instance type fits (largest {shown})"
            )
    for waiting in stuck:
        if waiting.reason.startswith("MISCONFIGURATION") or "CLIENT_ERROR" in waiting.reason:
            causes.append(f"job {waiting.name}: {waiting.reason}")
    return list(dict.fromkeys(causes))


def _largest_per_environment(
    environments: Iterable[Mapping[str, Any]],
) -> dict[str, list[tuple[int, int]] | None]:
    """Per environment, the (vCPU, MiB) of each instance it may start; None: types unknown."""
    result: dict[str, list[tuple[int, int]] | None] = {}
    for env in environments:
        resources = env.get("computeResources")
        if not resources or env.get("status") != "VALID":
            continue
        if str(resources.get("type", "")).startswith("FARGATE"):
            result[env["computeEnvironmentName"]] = [_FARGATE_MAX]
            continue
        capacity = [c for t in resources.get("instanceTypes", []) for c in instance_capacity(t)]
        known = all(instance_capacity(t) for t in resources.get("instanceTypes", []))
        result[env["computeEnvironmentName"]] = capacity if known and capacity else None
    return result


def _run(settings: Settings) -> Finding:
    queue_name = settings.batch.job_queue
    if not queue_name:
        return Finding.not_configured("no job queue: batch.job_queue is not set")
    client = aws.client("batch")
    try:
        return _check_queue(client, queue_name, settings.batch.runnable_max_minutes)
    except PlatformError as exc:
        return Finding.failed(exc.headline, action=exc.hint or None)


def _check_queue(client: Any, queue_name: str, max_minutes: int) -> Finding:
    with aws.calling("batch", f"describing job queue {queue_name}"):
        queues = client.describe_job_queues(jobQueues=[queue_name])["jobQueues"]
    if not queues:
        return Finding.failed(
            f"job queue {queue_name} does not exist",
            action="create it (Terraform module batch) or fix batch.job_queue",
        )
    queue = queues[0]
    details = [f"job queue {queue_name}: {queue['state']}, {queue['status']}"]
    problems = []
    if queue["state"] != "ENABLED":
        problems.append(f"job queue {queue_name} is {queue['state']}: it accepts no jobs")
    if queue["status"] != "VALID":
        problems.append(f"job queue {queue_name} is {queue['status']}: {queue.get('statusReason')}")
    order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda ce: ce["order"])
    names = [ce["computeEnvironment"] for ce in order]
    environments: list[Mapping[str, Any]] = []
    if names:
        with aws.calling("batch", "describing the queue's compute environments"):
            answer = client.describe_compute_environments(computeEnvironments=names)
        environments = answer["computeEnvironments"]
    for env in environments:
        resources = env.get("computeResources") or {}
        details.append(
            f"compute environment {env['computeEnvironmentName']}: {env.get('state')}, "
            f"{env.get('status')}, maxvCpus {resources.get('maxvCpus', '-')}"
        )
    if not names:
        problems.append(f"job queue {queue_name} has no compute environment")
    problems += environment_problems(environments)

    with aws.calling("batch", f"listing RUNNABLE jobs in {queue_name}"):
        pages = client.get_paginator("list_jobs").paginate(
            jobQueue=queue_name, jobStatus="RUNNABLE"
        )
        stuck = stuck_jobs(pages, int(time.time() * 1000), max_minutes)
    details.append(f"{len(stuck)} job(s) RUNNABLE for more than {max_minutes} minutes")
    if stuck:
        ids = [job.job_id for job in stuck]
        described: list[Mapping[str, Any]] = []
        with aws.calling("batch", "describing the stuck jobs"):
            for start in range(0, len(ids), _DESCRIBE_BATCH):
                batch = ids[start : start + _DESCRIBE_BATCH]
                described += client.describe_jobs(jobs=batch)["jobs"]
        details += [f"stuck: {job.name} ({job.job_id}) {job.minutes} min" for job in stuck[:10]]
        causes = likely_causes(stuck, described, environments) or [
            "none visible from the Batch API: check the EC2 vCPU quota, and that instances in "
            "the subnets reach ECS and ECR (NAT gateway or VPC endpoints)"
        ]
        details += [f"likely cause: {cause}" for cause in causes]
        oldest = stuck[0]
        problems.append(
            f"{len(stuck)} job(s) RUNNABLE for more than {max_minutes} minutes "
            f"(oldest {oldest.name}, {oldest.minutes} min)"
        )
    if problems:
        action = None
        if queue["state"] != "ENABLED":
            action = f"mlplatform doctor --only batch --fix (re-enables {queue_name})"
        return Finding.failed("; ".join(problems), *details, action=action)
    return Finding.passed(
        f"job queue {queue_name} and its compute environments are ready", *details
    )


def _plan_enable(settings: Settings, finding: Finding) -> list[str]:
    queue = settings.batch.job_queue
    return [f"aws batch update-job-queue --job-queue {queue} --state ENABLED"] if queue else []


def _apply_enable(settings: Settings, finding: Finding) -> str:
    queue = settings.batch.job_queue
    if not queue:
        raise PlatformError("no job queue: batch.job_queue is not set", "set it first")
    with aws.calling("batch", f"enabling job queue {queue}"):
        aws.client("batch").update_job_queue(jobQueue=queue, state="ENABLED")
    return f"job queue {queue} set to ENABLED"


CHECK = Check(
    id="batch",
    title="AWS Batch",
    checks="The job queue is ENABLED and VALID, its compute environments are VALID and ENABLED "
    "with maxvCpus > 0, and no job has been RUNNABLE longer than batch.runnable_max_minutes.",
    action="Read the listed likely cause: fix the compute environment (instance types, "
    "maxvCpus, subnets, IAM) or re-enable the queue with --fix.",
    severity=Severity.CRITICAL,
    time_to_resolve="30 minutes",
    run=_run,
    fixer=Fixer(plan=_plan_enable, apply=_apply_enable),
)
