"""No hidden case lets a shortcut or a known mistake through, over many seeds per task.

The server completes a function on one right answer to one hidden case, so each
of its cases must catch every wrong function in the table; class grading judges
a student's whole hidden set, so the set must.
"""

import inspect
import json

import numpy as np
import pytest
from shortcuts import MISTAKES_ONE_CASE_MISSES, ONE_PHASE_ONLY, shortcuts_for

from grader.classgrade.mistakes import mistakes_for
from grader.core import hidden
from grader.core.calling import OK, call_once
from grader.core.cases import make_cases
from grader.core.checking import judge
from grader.core.tasks import TASKS, get_task
from grader.server import cases as server_cases

SEEDS = 200
TASK_IDS = [task.name for task in TASKS]


def wrong_functions(task, *, one_case: bool = True) -> dict:
    """The shortcuts and the catalogue's known mistakes of ``task``: those one case can
    catch, or (``one_case`` False) all of them."""
    missed = MISTAKES_ONE_CASE_MISSES.get(task.name, set()) if one_case else set()
    known = {f"known mistake: {m.name}": m.variant for m in mistakes_for(task.name)
             if m.name not in missed}
    more = {} if one_case else ONE_PHASE_ONLY.get(task.name, {})
    return {**shortcuts_for(task.name), **known, **more}


def one_case_misses() -> list:
    """``(task, name, function)`` of what no one case can catch."""
    found = [(t, n, f) for t, table in ONE_PHASE_ONLY.items() for n, f in table.items()]
    return found + [(m.task, m.name, m.variant) for t, names in MISTAKES_ONE_CASE_MISSES.items()
                    for m in mistakes_for(t) if m.name in names]


def passes(task, function, case: dict, expected) -> bool:
    """``function`` gives an accepted answer on ``case`` (raising is failing)."""
    with np.errstate(all="ignore"):
        outcome = call_once(function, case, task.arg_names, positional=False, seconds=None)
    return outcome.status == OK and judge(task, outcome, expected, 0, hidden=True,
                                          case_inputs=case).passed


def server_case(task, seed: int):
    """A hidden case as the server sends it and the client decodes it, and its expected output."""
    text = server_cases.input_json(task, server_cases.draw_case(task, seed))
    return server_cases.expected_output(task, text)


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_every_server_case_catches_every_shortcut_and_known_mistake(task):
    functions = wrong_functions(task)
    let_through = []
    for seed in range(SEEDS):
        case, expected = server_case(task, seed)
        let_through += [(seed, name) for name, function in functions.items()
                        if passes(task, function, case, expected)]
    assert let_through == []


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_every_hidden_set_of_class_grading_catches_every_shortcut_and_known_mistake(task):
    functions = wrong_functions(task, one_case=False)
    let_through = []
    for seed in range(SEEDS // 4):
        drawn = make_cases(task, f"student-{seed}", "remote")
        expected = [task.expected(case) for case in drawn]
        let_through += [(seed, name) for name, function in functions.items()
                        if all(passes(task, function, case, want) for case, want in zip(drawn, expected))]
    assert let_through == []


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_every_random_hidden_case_of_class_grading_catches_them_alone(task):
    """The remote phase's random cases are the server's family: each catches them by itself."""
    functions = wrong_functions(task)
    let_through = []
    for seed in range(SEEDS // 4):
        for case in make_cases(task, f"student-{seed}", "remote")[-5:]:
            want = task.expected(case)
            let_through += [(seed, name) for name, function in functions.items()
                            if passes(task, function, case, want)]
    assert let_through == []


@pytest.mark.parametrize("task_name, name, function", one_case_misses(),
                         ids=[f"{t}-{n}" for t, n, _ in one_case_misses()])
def test_what_one_case_cannot_catch_passes_some_server_cases(task_name, name, function):
    """The named exceptions are real: drop one from the lists when a case can catch it."""
    task = get_task(task_name)
    assert any(passes(task, function, *server_case(task, seed)) for seed in range(40))


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_hidden_cases_are_sent_as_autoMarks_json_and_come_back_the_same(task):
    for seed in range(20):
        drawn = server_cases.draw_case(task, seed)
        decoded = server_cases.decode_input(task, json.loads(server_cases.input_json(task, drawn)))
        for name in task.arg_names:
            assert np.array_equal(np.asarray(decoded[name]), np.asarray(drawn[name]))


@pytest.mark.parametrize("name, want", [
    ("conv_matrix", {"uint8", "int64"}), ("box_blur", {"uint8", "int64"}),
    ("hinge_forward", {"int64", "float64"}), ("hinge_grad_input", {"int64", "float64"}),
])
def test_images_and_labels_come_as_integers_as_real_callers_pass_them(name, want):
    task = get_task(name)
    first = task.arg_names[0] if name in ("conv_matrix", "box_blur") else "target_true"
    dtypes = {str(task.hidden_case(np.random.default_rng(seed))[first].dtype) for seed in range(40)}
    assert dtypes == want


@pytest.mark.parametrize("seed", range(50))
def test_hidden_kernels_are_wide_non_square_and_odd(seed):
    case = get_task("conv_matrix").hidden_case(np.random.default_rng(seed))
    rows, cols = case["kernel"].shape
    assert rows != cols and max(rows, cols) >= 5 and rows % 2 == cols % 2 == 1
    assert case["matrix"].shape[0] % 2 != case["matrix"].shape[1] % 2


def test_every_task_has_a_hidden_family():
    """Each public function of hidden.py is the hidden family of the task of its name."""
    families = {name: value for name, value in vars(hidden).items() if inspect.isfunction(value)
                and value.__module__ == hidden.__name__ and not name.startswith("_")}
    assert sorted(families) == sorted(TASK_IDS)
    assert all(task.hidden_inputs is families[task.name] for task in TASKS)
