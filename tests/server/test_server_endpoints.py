"""Every endpoint and every error text, on a live server (rate limit off)."""

import hashlib
import io
import json
import pickle

import numpy as np
import pytest
import requests
from server_fixtures import server  # noqa: F401

from grader.core.tasks import TASKS, get_task


def get(server, path, **kwargs):
    return requests.get(server.url + path, timeout=30, **kwargs)


def issued(server, username="ada", function="conv_matrix"):
    data = get(server, f"get_test_input/{username}/{function}").json()
    task = get_task(function)
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in data["input"].items()}
    return data, np.asarray(task.reference(**case), dtype=float)


@pytest.fixture(scope="module")
def tests_pickle(server):
    return get(server, "load_tests/ada").content


def test_load_tests_is_a_protocol_2_pickle_of_every_function(tests_pickle):
    assert tests_pickle[:2] == b"\x80\x02"
    tests = pickle.load(io.BytesIO(tests_pickle), encoding="latin1")
    assert set(tests) == {task.name for task in TASKS}
    for task in TASKS:
        data = tests[task.name]
        assert len(data["inputs"]) == len(data["outputs"]) > 20
        assert all(set(case) == set(task.arg_names) for case in data["inputs"])
        assert all(isinstance(out, (np.ndarray, np.generic)) and hasattr(out, "shape")
                   for out in data["outputs"])


def test_the_references_pass_the_local_tests_by_autoMarks_rule(tests_pickle):
    tests = pickle.load(io.BytesIO(tests_pickle), encoding="latin1")
    for task in TASKS:
        for case, output in zip(tests[task.name]["inputs"], tests[task.name]["outputs"]):
            answer = task.reference(**{key: case[key] for key in task.arg_names})
            assert np.shape(answer) == output.shape, task.name
            assert np.allclose(answer, output, rtol=1e-5, atol=1e-5), task.name


def test_the_pickle_names_numpy_1_modules_only(tests_pickle):
    assert b"numpy._core" not in tests_pickle and b"numpy.core.multiarray" in tests_pickle


@pytest.mark.parametrize("md5, want", [
    ("right", True),
    ("0" * 32, False),
    ("RIGHT", False),          # AutoMark's md5 is lowercase hex
    ("not-an-md5", False),
])
def test_check_sum(server, tests_pickle, md5, want):
    digest = hashlib.md5(tests_pickle).hexdigest()
    md5 = {"right": digest, "RIGHT": digest.upper()}.get(md5, md5)
    response = get(server, f"check_sum/{md5}")
    assert response.status_code == 200 and response.json() == {"success": want}


def test_check_sum_asks_for_no_user(server):
    assert get(server, "check_sum/" + "f" * 32).json() == {"success": False}


def test_get_test_input_sends_autoMarks_json(server):
    data = get(server, "get_test_input/ada/box_blur").json()
    assert set(data) == {"username", "ipd", "input"} and data["username"] == "ada"
    assert isinstance(data["ipd"], int) and data["ipd"] > 0
    assert list(data["input"]) == ["image", "box_size"]
    assert data["input"]["image"]["type"] == "ndarray"
    assert data["input"]["box_size"]["type"] == "int" and isinstance(data["input"]["box_size"]["data"], int)


def test_get_test_input_repeats_the_unanswered_input(server):
    first = get(server, "get_test_input/bob/relu_forward").json()
    assert get(server, "get_test_input/bob/relu_forward").json() == first


def test_an_answered_input_is_followed_by_a_new_one(server):
    data, expected = issued(server, "bob", "maxpool_forward")
    answer = json.dumps(expected.tolist())
    assert get(server, f"check_answer/bob/maxpool_forward/{data['ipd']}/{answer}").json() == {
        "success": True}
    assert get(server, "get_test_input/bob/maxpool_forward").json()["ipd"] != data["ipd"]


def test_students_get_inputs_of_their_own(server):
    ada = get(server, "get_test_input/ada/dense_forward").json()["input"]
    bob = get(server, "get_test_input/bob/dense_forward").json()["input"]
    assert ada != bob


def test_the_expected_output_is_never_sent(server):
    data, expected = issued(server, "cy", "conv_matrix")
    assert json.dumps(expected.tolist()) not in json.dumps(data)


@pytest.mark.parametrize("change, want", [
    (lambda e: e, True),
    (lambda e: e + 1e-7, True),              # within AutoMark's tolerance
    (lambda e: e + 1e-3 * (1 + np.abs(e)), False),   # 100x the tolerance at any magnitude
    (lambda e: e[..., None], False),         # the right values, one axis too many
    (lambda e: np.full_like(e, np.nan), False),
    (lambda e: np.full_like(e, np.inf), False),
])
def test_check_answer_judges_with_the_kits_strict_rule(server, change, want):
    data, expected = issued(server, "dee", "conv_matrix")
    answer = change(expected)
    response = get(server, f"check_answer/dee/conv_matrix/{data['ipd']}/{json.dumps(answer.tolist())}")
    assert response.status_code == 200 and response.json() == {"success": want}


def test_a_scalar_task_takes_a_number(server):
    data, expected = issued(server, "ada", "mse_forward")
    assert expected.shape == ()
    response = get(server, f"check_answer/ada/mse_forward/{data['ipd']}/{json.dumps(float(expected))}")
    assert response.json() == {"success": True}


def test_get_progress_lists_every_function(server):
    data = get(server, "get_progress/bob").json()
    assert data["name"] == "Bob Example" and data["mail"] == "bob@example.org"
    assert set(data["progress"]) == {task.name for task in TASKS}
    assert data["progress"]["maxpool_forward"] == "completed"
    assert set(data["progress"].values()) <= {"completed", "attempted", "not attempted"}


@pytest.mark.parametrize("path, want", [
    ("load_tests/zed", "user 'zed' is not registered."),
    ("get_test_input/zed/conv_matrix", "user 'zed' is not registered."),
    ("check_answer/zed/conv_matrix/1/[1]", "user 'zed' is not registered."),
    ("get_progress/zed", "user 'zed' is not registered."),
    ("get_progress/Ada", "user 'Ada' is not registered."),          # case-sensitive
    ("get_test_input/ada/conv", "assignment 'conv' is not found."),
    ("check_answer/ada/conv/1/[1]", "assignment 'conv' is not found."),
    ("get_test_input/zed/conv", "user 'zed' is not registered."),    # the user comes first
    ("check_answer/ada/conv_matrix/7/[1]",
     "ipd 7 was not issued to 'ada' for 'conv_matrix': call get_test_input first."),
    ("check_answer/ada/conv_matrix/seven/[1]",
     "ipd must be the integer that get_test_input sent, got 'seven'."),
    ("get_progress", "expected GET /get_progress/<username>, got 0 parameter(s) instead of 1."),
    ("get_test_input/ada", "expected GET /get_test_input/<username>/<function>, got 1 "
                           "parameter(s) instead of 2."),
])
def test_refusals_are_autoMarks_texts_with_status_300(server, path, want):
    response = get(server, path)
    assert (response.status_code, response.json()) == (300, {"error": want})


def test_an_ipd_issued_to_another_user_is_refused(server):
    data, expected = issued(server, "ada", "relu_forward")
    response = get(server, f"check_answer/bob/relu_forward/{data['ipd']}/{json.dumps(expected.tolist())}")
    assert response.status_code == 300 and "was not issued to 'bob'" in response.json()["error"]


def test_an_ipd_of_another_function_is_refused(server):
    data, expected = issued(server, "ada", "relu_forward")
    response = get(server, f"check_answer/ada/relu_grad_input/{data['ipd']}/[1]")
    assert response.status_code == 300 and "for 'relu_grad_input'" in response.json()["error"]


@pytest.mark.parametrize("path, status", [("", 401), ("nope", 404), ("check_sum", 300),
                                          ("favicon.ico", 404)])
def test_other_paths_are_json_errors(server, path, status):
    response = get(server, path)
    assert response.status_code == status and "error" in response.json()


def test_only_get_is_served(server):
    response = requests.post(server.url + "check_sum/" + "0" * 32, timeout=10)
    assert response.status_code == 405 and "error" in response.json()


def test_a_newer_clients_host_without_trailing_slash_works(server):
    response = requests.get(server.url.rstrip("/") + "//check_sum/" + "0" * 32, timeout=10)
    assert response.json() == {"success": False}
