"""docs/runbook.md covers every doctor check (by id) and every incident on-call meets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlplatform.doctor.registry import CHECKS, load

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
INCIDENTS = (
    "Pipeline failure",
    "A step out of memory",
    "Batch jobs stuck RUNNABLE",
    "Metadata service down",
    "RDS failover, storage full, or restore",
    "S3 access denied",
    "LDAP outage",
    "JupyterHub down or spawn failures",
    "AppsFlyer quota or token expiry",
    "Alert storm",
)


def _sections() -> dict[str, str]:
    text = RUNBOOK.read_text()
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_has_its_section_with_time_to_resolve(check_id: str) -> None:
    sections = _sections()
    assert check_id in sections, f"docs/runbook.md needs a '### {check_id}' section"
    check = load(check_id)
    assert check.runbook == f"docs/runbook.md#{check_id}"
    assert check.time_to_resolve in sections[check_id], (
        f"the {check_id} section should state the check's time to resolve ({check.time_to_resolve})"
    )


@pytest.mark.parametrize("incident", INCIDENTS)
def test_every_incident_names_its_check_and_commands(incident: str) -> None:
    body = _sections()[incident]
    assert "Detected by:" in body, f"incident '{incident}' should say what detects it"
    # An out-of-memory step is the pipeline's own problem: no check can see it coming.
    assert "no doctor check" in body or re.search(
        r"\]\(#(" + "|".join(map(re.escape, CHECKS)) + r")\)", body
    ), f"incident '{incident}' should link the doctor check that detects it"
    assert "```bash" in body, f"incident '{incident}' should give commands"
    assert re.search(r"\d+ (minutes|hour)", body), f"'{incident}': no time to resolve"
