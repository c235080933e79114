"""Shared fixtures: every test gets its own progress folder and no roster."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def isolated_progress(tmp_path, monkeypatch):
    """Progress files go to a temporary folder; no roster unless a test writes one."""
    folder = tmp_path / "progress"
    monkeypatch.setenv("AUTOMARK_PROGRESS_DIR", str(folder))
    monkeypatch.setenv("AUTOMARK_ROSTER", str(tmp_path / "no-roster.csv"))
    return folder
