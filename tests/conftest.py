"""Shared fixtures: isolated homes and working folders, the CLI as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.servers.slapd import LdapServer, start_slapd

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPEC = REPO / "examples" / "pipelines" / "appsflyer_d7_purchase.yaml"


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Set before any fixture, session-wide ones included: nothing touches ~/.mlplatform."""
    home = tmp_path_factory.getbasetemp() / "mlplatform-home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPLATFORM_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def isolated_home(session_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts from default settings (no stray MLPLATFORM_* from the shell)."""
    home = session_home
    monkeypatch.setenv("MLPLATFORM_HOME", str(home))
    for key in list(os.environ):
        if key.startswith("MLPLATFORM_") and key != "MLPLATFORM_HOME":
            monkeypatch.delenv(key)
    from mlplatform.settings import get_settings

    get_settings.cache_clear()
    return home


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def metaflow_env(cwd: Path) -> dict[str, str]:
    """Environment for a Metaflow process that keeps its runs in `cwd/.metaflow`.

    Metaflow otherwise looks for `.metaflow` in the working directory and then in every parent:
    a stray `/tmp/.metaflow` would collect every test's runs and mix them up.
    """
    return dict(os.environ) | {
        "METAFLOW_USER": "tester",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(cwd),
    }


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> CliResult:
    full_env = metaflow_env(cwd) | {"COLUMNS": "200"} | (env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mlplatform.cli.main", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def small_spec(**changes: object) -> dict:
    """The example spec, shrunk for tests: fewer installs, two candidates, two folds."""
    spec = yaml.safe_load(EXAMPLE_SPEC.read_text())
    spec["data"]["source"]["installs"] = 3000
    spec["tuning"]["n_candidates"] = 2
    spec["tuning"]["cv_folds"] = 2
    spec["model"]["params"]["max_iter"] = 50
    return with_changes(spec, changes)


def table_spec(data: Path | str, **changes: object) -> dict:
    """A minimal spec over a ready table with columns x (number), colour, label."""
    spec = {
        "version": 1,
        "task": "classification",
        "project": "tests",
        "name": "table",
        "data": {"source": {"kind": "table", "path": str(data)}},
        "target": {"column": "label"},
        "features": {"numeric": ["x"], "categorical": ["colour"]},
        "model": {"estimator": "logistic_regression"},
    }
    return with_changes(spec, changes)


def with_changes(spec: dict, changes: dict[str, object]) -> dict:
    """Set `a.b.c`-style keys in a spec dict (creating sections as needed)."""
    for dotted, value in changes.items():
        node = spec
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return spec


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """The CLI's contract for user errors: exit 2, one `error:` line, no traceback."""
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def card_contents(html: str) -> tuple[list[str], int]:
    """The Markdown texts and the number of images of a Metaflow card's HTML file.

    A card carries its components as base64 JSON in the page (`window.__MF_DATA__`), so the
    page text alone says nothing about what the card shows.
    """
    import base64
    import json
    import re

    blob = re.search(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', html)
    assert blob, "not a Metaflow card"
    texts: list[str] = []
    images = 0

    def walk(node: object) -> None:
        nonlocal images
        if isinstance(node, dict):
            if node.get("type") == "image" and str(node.get("src", "")).startswith("data:image"):
                images += 1
            if node.get("type") == "markdown":
                texts.append(str(node.get("source", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(base64.b64decode(blob.group(1))))
    return texts, images


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder to run in: its own .metaflow datastore and run outputs."""
    yield tmp_path


# --- moto in server mode: the AWS endpoint on loopback -------------------------------------

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, proc: subprocess.Popen, what: str, seconds: float = 30) -> None:
    """Poll `url` until it answers; fail the test (and stop `proc`) if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{what} did not start")


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url + "/moto-api/", proc, "moto server")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 in this test process points at the moto server (standard endpoint settings)."""
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    return aws_endpoint


# --- OpenLDAP (slapd) on loopback, FreeIPA's layout: one server for the whole session -------


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    proc, server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    proc.terminate()
    proc.wait(timeout=10)


def ldap_env(server: LdapServer) -> dict[str, str]:
    """MLPLATFORM_* settings that point the user manager at `server` as its service account."""
    return {
        "MLPLATFORM_USERS__BACKEND": "ldap",
        "MLPLATFORM_LDAP__URL": server.url,
        "MLPLATFORM_LDAP__BASE_DN": server.base_dn,
        "MLPLATFORM_LDAP__BIND_DN": server.manager_dn,
        "MLPLATFORM_LDAP_BIND_PASSWORD": server.manager_password,
    }
