"""The kit's own client against a live server: the remote phase asks the server, get_progress
shows the server's table; without a server nothing changes."""

import functools

import numpy as np
import pytest
import requests
from server_fixtures import server, start_server  # noqa: F401
from student_code import CONV_MATRIX

from grader.client import automark_api, messages
from grader.core.tasks import get_task

PASSED = ["Running local tests...", "conv_matrix successfully passed local tests",
          "Running remote test...", "Test was successful. Congratulations!"]


@pytest.fixture
def configured(server, monkeypatch):
    monkeypatch.setenv(automark_api.SERVER_ENV, server.url)
    return server


def reference(name):
    function = functools.partial(get_task(name).reference)
    function.__name__ = name
    return function


def printed(capsys, call, *args) -> list[str]:
    call(*args)
    return capsys.readouterr().out.splitlines()


def server_state(server, username, function):
    return requests.get(f"{server.url}get_progress/{username}", timeout=10).json()["progress"][function]


def test_a_correct_function_completes_on_the_server(configured, capsys):
    lines = printed(capsys, automark_api.test_student_function, "ada", reference("conv_matrix"),
                    ["matrix", "kernel"])
    assert lines == PASSED
    assert server_state(configured, "ada", "conv_matrix") == "completed"


def test_a_function_wrong_on_the_hidden_case_is_attempted_on_the_server(configured, capsys):
    def conv_matrix(*args, **kwargs):
        result = get_task("conv_matrix").reference(*args, **kwargs)
        return result + 1.0 if args else result
    lines = printed(capsys, automark_api.test_student_function, "bob", conv_matrix,
                    ["matrix", "kernel"])
    assert lines[:4] == PASSED[:3] + ["Test failed. Please review your code."]
    assert lines[4:] == ["    1 of 1 remote cases failed.",
                         "    First failure (hidden case): the server's hidden case does not match "
                         "(its expected output stays on the server)"]
    assert server_state(configured, "bob", "conv_matrix") == "attempted"


def test_a_function_wrong_locally_is_not_sent(configured, capsys):
    def relu_forward(x_input):
        return np.asarray(x_input) * 2.0
    lines = printed(capsys, automark_api.test_student_function, "cy", relu_forward, ["x_input"])
    assert lines[:2] == ["Running local tests...", "relu_forward failed some local tests"]
    assert "not sent to the server: the local cases must pass first" in lines[-1]
    assert server_state(configured, "cy", "relu_forward") == "not attempted"


def test_get_progress_prints_the_servers_table(configured, capsys):
    automark_api.test_student_function("dee", reference("box_blur"), ["image", "box_size"])
    capsys.readouterr()
    lines = printed(capsys, automark_api.get_progress, "dee")
    assert lines[1].startswith("| Dee <b>Bold</b>") and lines[2].startswith("| dee@example.org")
    assert "| [MAN] box_blur           | completed      |" in lines


def test_the_servers_refusals_are_printed(configured, capsys):
    assert printed(capsys, automark_api.get_progress, "zed") == ["user 'zed' is not registered."]
    lines = printed(capsys, automark_api.test_student_function, "zed", reference("conv_matrix"),
                    ["matrix", "kernel"])      # the local verdict first, then the server's words
    assert lines[:2] == PASSED[:2] and len(lines) == 4
    assert lines[3] == messages.server_refused("user 'zed' is not registered.")


def test_config_host_wins_like_the_course_client(server, monkeypatch, capsys):
    monkeypatch.setenv(automark_api.SERVER_ENV, "http://127.0.0.1:9/")
    monkeypatch.setattr(automark_api.Config, "host", server.url)
    assert printed(capsys, automark_api.test_student_function, "ada", reference("maxpool_forward"),
                   ["x_input"])[-1] == "Test was successful. Congratulations!"


def test_an_unreachable_server_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(automark_api.Config, "host", "http://127.0.0.1:9/")
    lines = printed(capsys, automark_api.get_progress, "ada")
    assert len(lines) == 1 and lines[0].startswith("cannot reach the AutoMark server at http://127.0.0.1:9/")


def test_the_rate_limit_reaches_the_student(start_server, monkeypatch, capsys):
    limited = start_server("--rate-limit-seconds", "30")
    monkeypatch.setenv(automark_api.SERVER_ENV, limited.url)
    monkeypatch.setattr(automark_api, "_window_closes", {})   # the window learnt stays in this test
    automark_api.test_student_function("ada", reference("conv_matrix"), ["matrix", "kernel"])
    capsys.readouterr()
    lines = printed(capsys, automark_api.test_student_function, "ada", reference("conv_matrix"),
                    ["matrix", "kernel"])
    assert lines[:3] == PASSED[:3] and len(lines) == 4   # the local checks still run and show
    assert lines[-1].startswith("Your next hidden check is possible in ")


def test_without_a_server_the_check_stays_offline(monkeypatch, capsys):
    monkeypatch.delenv(automark_api.SERVER_ENV, raising=False)
    assert automark_api.server_url() is None
    assert printed(capsys, automark_api.test_student_function, "ada", reference("conv_matrix"),
                   ["matrix", "kernel"]) == PASSED


KIT_SCRIPT = """
import numpy as np
import automark as am
""" + CONV_MATRIX + """
am.test_student_function("ada", conv_matrix, ["matrix", "kernel"])
am.get_progress("ada")
"""


def test_a_kit_built_for_the_server_ships_no_hidden_cases_and_checks_there(server, tmp_path):
    import subprocess
    import sys

    from grader.release.build import build_student_kit
    kit = tmp_path / "student"
    build_student_kit(kit, server=server.url)
    assert (kit / "grader" / "vectors" / "local.npz").is_file()
    assert not (kit / "grader" / "vectors" / "remote.npz").exists()
    assert (kit / "grader" / "client" / "server_url.txt").read_text() == server.url + "\n"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AUTOMARK_PROGRESS_DIR": str(tmp_path / "p")}
    done = subprocess.run([sys.executable, "-c", KIT_SCRIPT], cwd=kit, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:4] == PASSED
    assert "| [MAN] conv_matrix        | completed      |" in done.stdout
    assert not (tmp_path / "p").exists()   # the server keeps the progress


def test_a_kit_for_a_server_needs_its_url(tmp_path):
    from grader.release.build import build_student_kit
    with pytest.raises(ValueError, match="--server wants the server's URL"):
        build_student_kit(tmp_path / "student", server="automark.example.org")
