"""grader.cases: which inputs a student gets, seeded per (username, task, phase)."""

import numpy as np
import pytest

from grader.core import cases, tasks

CONV = tasks.get_task("conv_matrix")
TASK_IDS = [task.name for task in tasks.TASKS]


def _same_cases(first, second) -> bool:
    def same(a, b):
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
        return type(a) is type(b) and np.array_equal(a, b)
    return len(first) == len(second) and all(
        a.keys() == b.keys() and all(same(a[k], b[k]) for k in a) for a, b in zip(first, second))


def test_case_seed_is_a_64_bit_integer():
    seed = cases.case_seed("alice", "conv_matrix", "local")
    assert isinstance(seed, int) and 0 <= seed < 2 ** 64


@pytest.mark.parametrize("one, other, want_equal", [
    (("alice", "conv_matrix", "local"), ("alice", "conv_matrix", "local"), True),
    (("alice", "conv_matrix", "local"), ("bob", "conv_matrix", "local"), False),
    (("alice", "conv_matrix", "local"), ("alice", "conv_matrix", "remote"), False),
    (("alice", "conv_matrix", "local"), ("alice", "box_blur", "local"), False),
    (("alice", "conv_matrix", "local"), ("Alice", "conv_matrix", "local"), False),
    # the parts are separated, so moving characters between them changes the seed
    (("ab", "c", "local"), ("a", "bc", "local"), False),
])
def test_case_seed_depends_on_user_task_and_phase(one, other, want_equal):
    assert (cases.case_seed(*one) == cases.case_seed(*other)) is want_equal


@pytest.mark.parametrize("phase", cases.PHASES)
@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_make_cases_is_reproducible(task, phase):
    first, again = (cases.make_cases(task, "alice", phase) for _ in range(2))
    assert _same_cases(first, again)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_two_users_get_different_cases(task):
    alice = cases.make_cases(task, "alice", "local")
    bob = cases.make_cases(task, "bob", "local")
    assert not _same_cases(alice, bob)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_local_and_remote_cases_differ(task):
    assert not _same_cases(cases.make_cases(task, "alice", "local"),
                           cases.make_cases(task, "alice", "remote"))


@pytest.mark.parametrize("phase, want_random", [
    ("local", cases.N_LOCAL_RANDOM), ("remote", cases.N_REMOTE_RANDOM)])
@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_cases_are_the_edge_cases_then_random_ones(task, phase, want_random):
    rng = np.random.default_rng(cases.case_seed("alice", task.name, phase))
    edges = list(task.edge_inputs(rng))
    drawn = cases.make_cases(task, "alice", phase)
    assert len(drawn) == len(edges) + want_random
    assert _same_cases(drawn[:len(edges)], edges)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_edge_cases_keep_a_run_short(task):
    """Every run (notebook, sandbox, test vectors) calls all of them."""
    n_edges = len(cases.make_cases(task, "alice", "local")) - cases.N_LOCAL_RANDOM
    assert 3 <= n_edges <= 12


@pytest.mark.parametrize("phase", cases.PHASES)
def test_remote_edge_cases_hold_their_own_values(phase):
    """Both phases start with the edge cases; their random parts are seeded apart."""
    task = tasks.get_task("relu_grad_input")
    local = cases.make_cases(task, "alice", "local")[:4]
    drawn = cases.make_cases(task, "alice", phase)[:4]
    assert [c["x_input"].shape for c in drawn] == [c["x_input"].shape for c in local]
    assert _same_cases(drawn, local) is (phase == "local")


def test_local_conv_cases_start_with_the_worked_example():
    drawn = cases.make_cases(CONV, "anyone", "local")
    assert [c["kernel"].shape for c in drawn[:3]] == [(1, 1), (1, 3), (3, 1)]
    worked = [c for c in drawn if np.array_equal(c["matrix"], [[1, 2, 3], [2, 3, 4], [3, 4, 5]])]
    assert len(worked) == 1
    np.testing.assert_array_equal(CONV.expected(worked[0]), [[7, 10, 3], [10, 14, 6], [3, 6, 8]])


@pytest.mark.parametrize("phase", ["Local", "hidden", "", None, "remote "])
def test_make_cases_rejects_a_bad_phase(phase):
    with pytest.raises(ValueError, match="phase must be one of"):
        cases.make_cases(CONV, "alice", phase)


@pytest.mark.parametrize("case, want", [
    ({"matrix": np.zeros((1, 5)), "kernel": np.zeros((1, 3))}, "matrix (1, 5), kernel (1, 3)"),
    ({"image": np.zeros((3, 3)), "box_size": 3}, "image (3, 3), box_size=3"),
    ({"weight_decay": 0.5, "weights": [np.zeros(2), np.zeros(3)]},
     "weight_decay=0.5, weights: list of 2 arrays (2,), (3,)"),
    ({"x_input": np.zeros((2, 2)), "training_phase": True}, "x_input (2, 2), training_phase=True"),
])
def test_describe_inputs(case, want):
    assert cases.describe_inputs(case) == want


@pytest.mark.parametrize("case, want", [
    ({"image": np.array([[9.0, 0, 9], [0, 0, 0], [9, 0, 9]]), "box_size": 3},
     "image = [[9., 0., 9.], [0., 0., 0.], [9., 0., 9.]]\nbox_size = 3"),
    ({"weight_decay": 0.5, "weights": [np.ones(2), np.zeros((1, 2))]},
     "weight_decay = 0.5\nweights = [[1., 1.], [[0., 0.]]]"),
    ({"x_input": np.zeros((5, 5))}, ""),                     # 25 numbers: too many to read
])
def test_show_values(case, want):
    assert cases.show_values(case) == want
