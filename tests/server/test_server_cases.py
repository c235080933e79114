"""Hidden cases, their JSON, the answers' parsing and the local-tests pickle, without HTTP."""

import hashlib
import io
import json
import pickle

import numpy as np
import pytest

from grader.core.tasks import TASKS, get_task
from grader.server import cases
from grader.server.answers import AnswerError, judge_answer, parse_answer


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_a_hidden_case_is_autoMarks_json_and_seeded_by_user_function_and_ipd(task):
    seed = cases.hidden_seed("ada", task.name, 7)
    assert 0 <= seed < 2**63 and seed == cases.hidden_seed("ada", task.name, 7)
    assert len({seed, cases.hidden_seed("bob", task.name, 7), cases.hidden_seed("ada", task.name, 8)}) == 3
    text = cases.input_json(task, cases.draw_case(task, seed))
    assert text == cases.input_json(task, cases.draw_case(task, seed))
    payload = json.loads(text)
    assert list(payload) == list(task.arg_names)
    assert {arg["type"] for arg in payload.values()} <= {"ndarray", "int", "float", "bool"}


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_the_expected_output_is_computed_from_what_was_sent(task):
    text = cases.input_json(task, cases.draw_case(task, cases.hidden_seed("ada", task.name, 1)))
    case, expected = cases.expected_output(task, text)
    sent = json.loads(text)
    for name in task.arg_names:
        if sent[name]["type"] == "ndarray":
            assert np.array_equal(case[name], np.array(sent[name]["data"]))
    answer = parse_answer(json.dumps(np.asarray(expected, dtype=float).tolist()))
    assert judge_answer(task, case, expected, answer).passed


def test_a_list_argument_is_never_sent():
    task = get_task("l2_regularizer")
    kinds = {json.loads(cases.input_json(task, cases.draw_case(task, seed)))["weights"]["type"]
             for seed in range(40)}
    assert kinds == {"ndarray"}


def test_the_local_tests_are_the_same_bytes_every_time():
    first, second = cases.build_local_tests(TASKS), cases.build_local_tests(TASKS)
    assert first == second and first.md5 == hashlib.md5(first.data).hexdigest()


def test_the_legacy_rewrite_touches_only_globals():
    data = {"a": np.frombuffer(b"numpy._core.multiarray\n_reconstruct\n" * 2, dtype=np.uint8),
            "b": np.float64(1.5)}
    rewritten = cases.legacy_numpy_names(pickle.dumps(data, protocol=2))
    loaded = pickle.load(io.BytesIO(rewritten), encoding="latin1")
    assert loaded["a"].tobytes() == data["a"].tobytes() and loaded["b"] == 1.5
    assert b"numpy._core.multiarray\n_reconstruct" in rewritten       # inside the array's bytes
    assert b"cnumpy._core" not in rewritten                           # as a GLOBAL opcode


@pytest.mark.parametrize("text, want", [
    ("[1, 2]", (2,)),
    ("[[1.5, 2], [3, 4]]", (2, 2)),
    ("3.25", ()),
    ("true", ()),
    ("NaN", ()),
    ("-Infinity", ()),
    ("[]", (0,)),
])
def test_answers_that_are_arrays_of_numbers(text, want):
    assert parse_answer(text).shape == want and parse_answer(text).dtype == np.float64


@pytest.mark.parametrize("text, want", [
    ("", "not valid JSON"),
    ("[1,", "not valid JSON"),
    ("[" * 5000 + "]" * 5000, "not valid JSON"),
    ("null", "it holds null"),
    ('"1"', "it holds text"),
    ('{"a": 1}', "it holds null, objects"),
    ("[[1], [1, 2]]", "not a regular array"),
    ("[" * 9 + "1" + "]" * 9, "9 dimensions"),
    ("1" * (1 << 20) + "1", "characters long"),
])
def test_answers_that_are_refused(text, want):
    with pytest.raises(AnswerError, match=want.replace("(", r"\(")):
        parse_answer(text)
