"""``python -m grader serve`` and ``server add-users``: flags from the library, one-line errors."""

import dataclasses
import subprocess
import sys

import pytest
from server_fixtures import ROOT, write_roster

from grader import cli
from grader.server.commands import DEADLINE_FLAGS
from grader.server.settings import ServerSettings
from grader.server.store import ServerStore


def run(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "grader", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_serve_defaults_are_the_librarys():
    """Every default is the library's, but the deadline's two: not given is None there, and
    grader/server/course_deadline.py chooses (the database, then course.toml)."""
    args = cli.build_parser().parse_args(["serve"])
    chosen_later = set(DEADLINE_FLAGS)
    assert {f.name: getattr(args, f.name) for f in dataclasses.fields(ServerSettings)
            if f.name not in chosen_later} == \
        {name: value for name, value in dataclasses.asdict(ServerSettings()).items()
         if name not in chosen_later}
    assert all(getattr(args, name) is None for name in chosen_later)


@pytest.mark.parametrize("argv, want", [
    (["--port", "8080", "--host", "0.0.0.0"], {"port": 8080, "host": "0.0.0.0"}),
    (["--rate-limit-seconds", "0"], {"rate_limit_seconds": 0.0}),
    (["--roster", "", "--data", "d", "--admin-token", "t" * 8, "--workers", "2"],
     {"roster": "", "data": "d", "admin_token": "t" * 8, "workers": 2}),
])
def test_serve_flags(argv, want):
    args = cli.build_parser().parse_args(["serve", *argv])
    assert {name: getattr(args, name) for name in want} == want


def test_serve_documents_the_issues_flags():
    text = run("serve", "--help").stdout
    for flag in ("--host", "--port", "--roster", "--data", "--rate-limit-seconds", "--admin-token"):
        assert flag in text
    assert "(default: 1234)" in text and "(default: 30.0)" in text


def test_add_users_imports_a_roster(tmp_path):
    done = run("server", "add-users", str(write_roster(tmp_path / "students.csv")),
               "--data", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert "Added or updated 4 user(s)" in done.stdout
    with ServerStore(tmp_path / "data" / "server.sqlite") as store:
        assert [s.username for s in store.users()] == ["ada", "bob", "cy", "dee"]


@pytest.mark.parametrize("argv, want", [
    (["server", "add-users", "missing.csv"], "Error: missing.csv: no such roster file"),
    (["server", "add-users", "{bad}"], "Error: {bad}: the roster needs a 'username' column"),
    (["serve", "--roster", "{bad}"], "Error: {bad}: the roster needs a 'username' column"),
    (["serve", "--rate-limit-seconds", "-1"], "Error: rate_limit_seconds must be >= 0"),
    (["serve", "--admin-token", "short"], "Error: the admin token must have at least 8"),
])
def test_user_errors_are_one_line_and_exit_1(tmp_path, argv, want):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,name\nada,Ada\n")
    argv = [arg.replace("{bad}", str(bad)) for arg in argv] + ["--data", str(tmp_path / "data")]
    done = run(*argv)
    assert done.returncode == 1 and done.stderr.startswith(want.replace("{bad}", str(bad)))
    assert len(done.stderr.strip().splitlines()) == 1


def test_unsafe_usernames_are_left_out_and_reported(tmp_path):
    roster = write_roster(tmp_path / "students.csv", [("ada", "Ada", ""), ("../x", "X", ""),
                                                       ("a/b", "", "")])
    done = run("server", "add-users", str(roster), "--data", str(tmp_path / "data"))
    assert done.returncode == 0 and "Added or updated 1 user(s)" in done.stdout
    rows = [line for line in done.stderr.splitlines() if not line.startswith("Warning:")]
    assert [line.split(": ")[1].split(" is ")[0] for line in rows] == [
        "username '../x'", "username 'a/b'"]
    with ServerStore(tmp_path / "data" / "server.sqlite") as store:
        assert [s.username for s in store.users()] == ["ada"]


def test_make_serve_starts_the_server_on_the_bundled_defaults():
    """``make serve`` names the example class itself: ``serve`` alone imports no roster, so
    an instructor who forgets ``--roster`` does not get twenty example students for good."""
    makefile = (ROOT / "Makefile").read_text()
    assert ("serve: $(STAMP)\n\t$(PY) -m grader serve --roster "
            "$(or $(ROSTER),examples/submissions/students.csv)") in makefile
    assert ServerSettings().roster is None
