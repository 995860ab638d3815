from pathlib import Path

import pytest

from mlplatform.errors import SettingsError
from mlplatform.settings import get_settings


def test_precedence_env_over_profile_over_default(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = isolated_home / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "default.yaml").write_text(
        "runs:\n  max_workers: 3\nbatch:\n  job_queue: from-profile\n"
    )
    get_settings.cache_clear()
    assert get_settings().runs.max_workers == 3
    assert get_settings().s3.raw_bucket == "data-platform-raw"
    monkeypatch.setenv("MLPLATFORM_RUNS__MAX_WORKERS", "5")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.runs.max_workers == 5 and settings.batch.job_queue == "from-profile"
    (profiles / "default.yaml").unlink()
    get_settings.cache_clear()


def test_bad_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLATFORM_RUNS__MAX_WORKERS", "many")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="MLPLATFORM_RUNS__MAX_WORKERS"):
        get_settings()
    get_settings.cache_clear()
