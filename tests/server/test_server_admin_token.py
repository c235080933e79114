"""The admin token never travels on the command line unannounced: it comes from the
environment or from a file only its owner can read; on the command line it is warned about."""

import os
import subprocess
import sys

import pytest
import requests
from server_fixtures import ROOT, start_server  # noqa: F401

from grader.server.commands import TOKEN_ON_COMMAND_LINE
from grader.server.settings import ServerSettings, read_token_file

FILE_TOKEN = "token-from-a-file-123"


def token_file(tmp_path, mode=0o600, text=FILE_TOKEN + "\n"):
    path = tmp_path / "admin-token"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_the_token_can_come_from_a_private_file(start_server, tmp_path):
    server = start_server("--admin-token-file", str(token_file(tmp_path)))
    assert requests.get(server.url, params={"token": FILE_TOKEN}, timeout=30).status_code == 200
    assert requests.get(server.url, params={"token": "wrong-token-1"}, timeout=30).status_code == 401
    assert TOKEN_ON_COMMAND_LINE not in server.log()


@pytest.mark.parametrize("mode, text, want", [
    (0o644, FILE_TOKEN, "has mode -rw-r--r--: other users can read or change it; run chmod 600"),
    (0o640, FILE_TOKEN, "has mode -rw-r-----"),
    (0o602, FILE_TOKEN, "has mode -rw-----w-"),
    (0o600, "short\n", "must have at least 8 characters"),
])
def test_a_token_file_others_can_read_or_a_short_token_is_refused(tmp_path, mode, text, want):
    path = token_file(tmp_path, mode, text)
    with pytest.raises(ValueError, match=want.replace("(", r"\(")):
        read_token_file(str(path))
    with pytest.raises(ValueError, match="admin token"):
        ServerSettings(admin_token_file=str(path))


def run_serve(*argv, env=None):
    """``serve`` with a bad roster: it stops (exit 1) right after reading its settings."""
    return subprocess.run([sys.executable, "-m", "grader", "serve", "--roster", "missing.csv",
                           *argv], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_a_missing_file_is_a_one_line_error(tmp_path):
    done = run_serve("--admin-token-file", str(tmp_path / "nowhere"), "--data", str(tmp_path))
    assert done.returncode == 1
    nowhere = tmp_path / "nowhere"
    assert done.stderr.startswith(f"Error: the admin token file {nowhere} does not exist: make "
                                  f"one with openssl rand -hex 16 > {nowhere} && chmod 600")
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_group_readable_file_is_a_one_line_error(tmp_path):
    done = run_serve("--admin-token-file", str(token_file(tmp_path, 0o640)), "--data",
                     str(tmp_path))
    assert done.returncode == 1 and "run chmod 600" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_token_on_the_command_line_is_warned_about(start_server):
    server = start_server("--admin-token", "on-the-command-line")
    assert TOKEN_ON_COMMAND_LINE in server.log()
    assert requests.get(server.url, params={"token": "on-the-command-line"}, timeout=30).ok


def test_the_environment_gives_no_warning(start_server):
    server = start_server(env={"AUTOMARK_ADMIN_TOKEN": "from-the-environment"})
    assert TOKEN_ON_COMMAND_LINE not in server.log()


def test_both_a_token_and_a_file_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="give the admin token once"):
        ServerSettings(admin_token="t" * 8, admin_token_file=str(token_file(tmp_path)))
