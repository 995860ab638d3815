"""Per-user EFS copies of raw AppsFlyer data."""

from __future__ import annotations

import os
import pwd
from datetime import date
from pathlib import Path

import pytest

from mlplatform.data.appsflyer.synthetic import generate
from mlplatform.data.appsflyer.user_copy import sync_user
from mlplatform.errors import PlatformError
from tests.conftest import assert_one_line_error, run_cli

APP = "id1234567890"


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    generate(root / "appsflyer", installs=600, seed=2, days=3)
    return root


def copy_installs(name: str, raw_root: Path, home: Path, last_day: int):
    """Copy the installs report from 2026-09-01 to 2026-09-<last_day> for `name`."""
    return sync_user(
        name,
        str(raw_root),
        str(home),
        APP,
        ["installs_report"],
        date(2026, 9, 1),
        date(2026, 9, last_day),
    )


def test_copies_chosen_days_and_is_repeatable(raw_root: Path, tmp_path: Path) -> None:
    first = copy_installs("ana", raw_root, tmp_path, last_day=2)
    copied = sorted(Path(p).relative_to(tmp_path).as_posix() for p in first.copied)
    assert copied == [
        f"ana/appsflyer/{APP}/installs_report/dt=2026-09-01/part-00000.csv",
        f"ana/appsflyer/{APP}/installs_report/dt=2026-09-02/part-00000.csv",
    ]
    again = copy_installs("ana", raw_root, tmp_path, last_day=2)
    assert again.copied == [] and again.unchanged == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root (CI runs as root)")
def test_folders_belong_to_an_existing_user(raw_root: Path, tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    result = copy_installs("nobody", raw_root, tmp_path, last_day=1)
    for path in [tmp_path / "nobody", *map(Path, result.copied)]:
        assert path.stat().st_uid == nobody.pw_uid


@pytest.mark.parametrize("name", ["../etc", "Ana", "a b", "-rf", ""])
def test_hostile_usernames_are_refused(name: str, raw_root: Path, tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="is not a valid username"):
        copy_installs(name, raw_root, tmp_path, last_day=1)
    assert not any(tmp_path.iterdir())


def test_cli(raw_root: Path, tmp_path: Path) -> None:
    env = {
        "MLPLATFORM_APPSFLYER__RAW_ROOT": str(raw_root),
        "MLPLATFORM_EFS__HOME_ROOT": str(tmp_path),
    }
    args = [
        "appsflyer",
        "sync-user",
        "ana",
        "--app-id",
        APP,
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-01",
    ]
    result = run_cli(*args, cwd=tmp_path, env=env)
    assert result.code == 0, result.stderr
    assert "files_copied: 4" in result.stdout  # installs + in-app, organic and not
    bad = run_cli("appsflyer", "sync-user", "../root", *args[3:], cwd=tmp_path, env=env)
    assert_one_line_error(bad, "'../root' is not a valid username")
