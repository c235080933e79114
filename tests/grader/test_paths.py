"""grader.paths: where the kit keeps its files; which usernames are safe."""

from pathlib import Path

import pytest

from grader.client import paths


@pytest.mark.parametrize("username, want", [
    ("alice", True), ("Alice99", True), ("a.b", True), ("a..b", True), ("a_b-c", True),
    ("s1234567@uni.ac.uk", True), ("a+tag", True), ("x" * 64, True), ("7", True),
    ("x" * 65, False), ("", False), ("..", False), ("../alice", False), ("a/b", False),
    ("/abs", False), ("a\\b", False), (".hidden", False), ("-flag", False), (" alice", False),
    ("alice ", False), ("a b", False), ("zoë", False), ("a:b", False), ("a*b", False),
    (None, False), (42, False), (b"alice", False), (["alice"], False),
    pytest.param("alice\n", False),
])
def test_check_username(username, want):
    if want:
        assert paths.check_username(username) == username
    else:
        with pytest.raises(ValueError, match=r"username must be .* got "):
            paths.check_username(username)


def test_bad_username_message_names_the_value_and_the_fix():
    with pytest.raises(ValueError) as caught:
        paths.check_username("../x")
    assert "'../x'" in str(caught.value) and "username = '...'" in str(caught.value)


@pytest.mark.parametrize("function, variable, default", [
    (paths.progress_dir, paths.PROGRESS_ENV, paths.KIT_ROOT / "progress"),
    (paths.roster_path, paths.ROSTER_ENV, paths.KIT_ROOT / "students.csv"),
])
def test_locations_come_from_the_environment_or_the_kit(monkeypatch, tmp_path, function,
                                                        variable, default):
    monkeypatch.setenv(variable, str(tmp_path / "elsewhere"))
    assert function() == tmp_path / "elsewhere"
    monkeypatch.setenv(variable, "")
    assert function() == default
    monkeypatch.delenv(variable)
    assert function() == default


def test_kit_root_is_the_repository():
    assert (paths.KIT_ROOT / "grader" / "client" / "paths.py").is_file()
    assert paths.KIT_ROOT == Path(__file__).resolve().parents[2]
