"""grader.tasks: every graded function declared once, as data."""

import inspect

import numpy as np
import pytest

import solutions
from grader.core import calling, tasks

SEEDS = (0, 1, 2, 7, 12345)
# AutoMark's functions as issue 2 specifies them: an oracle for those declarations, not the
# list of tasks (the tests over every task read tasks.TASKS, so a new task is checked too).
MANDATORY = {
    "dense_forward", "dense_grad_input", "dense_grad_W", "dense_grad_b", "relu_forward",
    "relu_grad_input", "hinge_forward", "hinge_grad_input", "l2_regularizer", "conv_matrix",
    "box_blur", "maxpool_forward", "flatten_forward", "flatten_grad_input",
}
OPTIONAL = {"dropout_forward", "dropout_grad_input", "mse_forward", "mse_grad_input"}
SCALARS = {"hinge_forward", "l2_regularizer", "mse_forward"}
ISSUE_ARGS = {  # argument names in arg_keys order, as issue 2 lists them
    "dense_forward": ("x_input", "W", "b"),
    "dense_grad_input": ("x_input", "grad_output", "W", "b"),
    "dense_grad_W": ("x_input", "grad_output", "W", "b"),
    "dense_grad_b": ("x_input", "grad_output", "W", "b"),
    "relu_forward": ("x_input",),
    "relu_grad_input": ("x_input", "grad_output"),
    "hinge_forward": ("target_pred", "target_true"),
    "hinge_grad_input": ("target_pred", "target_true"),
    "l2_regularizer": ("weight_decay", "weights"),
    "conv_matrix": ("matrix", "kernel"),
    "box_blur": ("image", "box_size"),
    "maxpool_forward": ("x_input",),
    "flatten_forward": ("x_input",),
    "flatten_grad_input": ("x_input", "grad_output"),
    "dropout_forward": ("x_input", "mask", "drop_rate", "training_phase"),
    "dropout_grad_input": ("x_input", "grad_output", "mask"),
    "mse_forward": ("target_pred", "target_true"),
    "mse_grad_input": ("target_pred", "target_true"),
}
TASK_IDS = [task.name for task in tasks.TASKS]


def _all_cases(task, seed):
    rng = np.random.default_rng(seed)
    return list(task.edge_inputs(rng)) + [task.make_inputs(rng) for _ in range(5)]


def _assert_output_kind(task, output):
    if task.output == "scalar":
        assert isinstance(output, float), f"{task.name} returned {type(output).__name__}"
        assert np.isfinite(output)
    else:
        assert isinstance(output, np.ndarray) and output.ndim >= 1
        kinds = "fiu" if task.name == "maxpool_forward" else "f"  # the max of uint8 is uint8
        assert output.dtype.kind in kinds and np.all(np.isfinite(output))


def test_declares_the_issues_functions_once():
    assert set(ISSUE_ARGS) <= set(TASK_IDS)
    assert len(set(TASK_IDS)) == len(TASK_IDS) == len(tasks.task_names())


@pytest.mark.parametrize("name", sorted(ISSUE_ARGS))
def test_declaration_matches_the_issue(name):
    task = tasks.get_task(name)
    assert task.arg_names == ISSUE_ARGS[task.name]
    assert task.mandatory == (task.name in MANDATORY)
    assert task.output == ("scalar" if task.name in SCALARS else "array")
    assert (task.rtol, task.atol) == (1e-5, 1e-5)
    assert task.summary
    assert not hasattr(task, "points")  # points are the course's (course.toml), not the grader's


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_reference_takes_the_declared_arguments_in_order(task):
    assert task.reference is getattr(solutions, task.name)
    assert tuple(inspect.signature(task.reference).parameters) == task.arg_names


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_reference_runs_on_every_generated_case(task, seed):
    for case in _all_cases(task, seed):
        assert tuple(case) == task.arg_names  # keyed by argument name, in arg_keys order
        _assert_output_kind(task, task.expected(case))


def _same(a, b) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return np.array_equal(a, b)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_expected_leaves_the_case_unchanged(task):
    case = task.make_inputs(np.random.default_rng(3))
    before = calling.copy_inputs(case)
    task.expected(case)
    assert all(_same(case[name], before[name]) for name in task.arg_names)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_edge_cases_exist_for(task):
    assert len(task.edge_inputs(np.random.default_rng(0))) >= 3


def _arrays(case):
    """Every array of a case, those in lists of weights included."""
    for value in case.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, np.ndarray):
                yield item


def _is_integers_as_floats(a):
    return a.dtype.kind == "f" and a.size > 1 and np.any(a) and np.all(a == np.round(a))


EDGE_PROPERTIES = {
    # what uniform random values never give, and real inputs (MNIST, ReLU outputs) often do
    "exact-zero": lambda case, out: any(np.any(a == 0) for a in _arrays(case)),
    "tie": lambda case, out: any(np.unique(a).size < a.size for a in _arrays(case)),
    "single-row-or-column": lambda case, out: any(1 in a.shape for a in [*_arrays(case), out]),
    "integers-as-floats": lambda case, out: any(map(_is_integers_as_floats, _arrays(case))),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(EDGE_PROPERTIES))
@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_edge_cases_hold(task, name, seed):
    holds = EDGE_PROPERTIES[name]
    edges = task.edge_inputs(np.random.default_rng(seed))
    assert any(holds(case, np.asarray(task.expected(case))) for case in edges)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_edge_cases_are_deterministic_given_the_generator(task):
    first, again = (task.edge_inputs(np.random.default_rng(5)) for _ in range(2))
    assert len(first) == len(again)
    assert all(case.keys() == other.keys() and all(_same(case[k], other[k]) for k in case)
               for case, other in zip(first, again))


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_grad_edges_hold_zeros_where_the_gradient_is_not(seed):
    edges = tasks.get_task("relu_grad_input").edge_inputs(np.random.default_rng(seed))
    at_zero = [case["grad_output"][case["x_input"] == 0] for case in edges]
    assert sum(np.count_nonzero(g) for g in at_zero) >= 10
    assert any(np.mean(case["x_input"] == 0) >= 0.5 for case in edges)  # like a CNN on MNIST


@pytest.mark.parametrize("seed", SEEDS)
def test_maxpool_edges_hold_windows_with_a_tied_maximum(seed):
    def tied_windows(x):
        h, w = x.shape
        windows = x.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(-1, 4)
        cells = np.sort(windows, axis=1)
        return int(np.sum(cells[:, 3] == cells[:, 2]))
    edges = tasks.get_task("maxpool_forward").edge_inputs(np.random.default_rng(seed))
    assert sum(tied_windows(case["x_input"]) for case in edges) >= 6


def _dtypes(task_name, argument):
    edges = tasks.get_task(task_name).edge_inputs(np.random.default_rng(0))
    return {case[argument].dtype.name for case in edges}


@pytest.mark.parametrize("task_name, argument, want", [
    # the dtypes a real caller passes: images as loaded, labels from np.where, masks from a comparison
    ("conv_matrix", "matrix", {"float64", "int64", "uint8"}),
    ("conv_matrix", "kernel", {"float64"}),
    ("box_blur", "image", {"float64", "int64", "uint8"}),
    ("maxpool_forward", "x_input", {"float64", "uint8"}),
    ("hinge_forward", "target_true", {"float64", "int64"}),
    ("hinge_grad_input", "target_true", {"float64", "int64"}),
    ("dropout_forward", "mask", {"int64", "bool"}),
    ("dropout_grad_input", "mask", {"int64", "bool"}),
])
def test_edge_cases_pass_the_dtypes_real_callers_pass(task_name, argument, want):
    assert _dtypes(task_name, argument) == want


@pytest.mark.parametrize("task_name, argument", [("conv_matrix", "matrix"), ("box_blur", "image")])
def test_integer_images_give_values_an_integer_output_would_truncate(task_name, argument):
    task = tasks.get_task(task_name)
    for case in task.edge_inputs(np.random.default_rng(0)):
        if case[argument].dtype.kind in "iu":
            expected = np.asarray(task.expected(case))
            assert expected.dtype == np.float64
            assert np.max(np.abs(expected - np.trunc(expected))) > 0.01


def test_edge_cases_cover_odd_kernels_of_every_shape():
    shapes = {(c["matrix"].shape, c["kernel"].shape)
              for c in tasks.get_task("conv_matrix").edge_inputs(np.random.default_rng(0))}
    kernels = {k for _, k in shapes}
    assert {(1, 1), (1, 3), (3, 1), (5, 5), (1, 5)} <= kernels  # padding 1 fits 3x3 only
    assert any(k[0] > m[0] or k[1] > m[1] for m, k in shapes), "a kernel larger than the matrix"


@pytest.mark.parametrize("name, want", [
    ("conv_matrix", "[MAN] conv_matrix"),
    ("flatten_grad_input", "[MAN] flatten_grad_input"),
    ("mse_forward", "[OPT] mse_forward"),
    ("dropout_grad_input", "[OPT] dropout_grad_input"),
])
def test_label(name, want):
    assert tasks.get_task(name).label == want


def test_ordered_for_progress_puts_this_week_first_then_mandatory_then_optional():
    ordered = tasks.ordered_for_progress()
    weeks = [task.week for task in ordered]
    assert weeks == sorted(weeks, reverse=True)
    for week in set(weeks):
        in_week = [task for task in ordered if task.week == week]
        flags = [task.mandatory for task in in_week]
        assert flags == sorted(flags, reverse=True)
        for mandatory in (True, False):
            names = [t.name for t in in_week if t.mandatory is mandatory]
            assert names == sorted(names, key=str.lower)
    assert ordered[0].name == "box_blur" and ordered[-1].name == "mse_grad_input"


@pytest.mark.parametrize("name, want", [
    ("conv_matrx", "Did you mean 'conv_matrix'?"),
    ("box_blurr", "Did you mean 'box_blur'?"),
    ("Relu_forward", "Did you mean 'relu_forward'?"),
    ("mse_backward", "Did you mean 'mse_forward'?"),
])
def test_unknown_name_suggests_the_closest_task(name, want):
    with pytest.raises(KeyError) as caught:
        tasks.get_task(name)
    message = caught.value.args[0]
    assert f"called '{name}'" in message and want in message
    assert tasks.find_task(name) is None


def test_unknown_name_without_a_close_match_lists_the_graded_functions():
    message = tasks.unknown_task_message("zzzz")
    assert "Did you mean" not in message
    assert all(name in message for name in tasks.task_names())
    assert "\n" not in message


@pytest.mark.parametrize("name", TASK_IDS)
def test_get_task_and_find_task_agree(name):
    assert tasks.get_task(name) is tasks.find_task(name)


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_reference_has_a_docstring(task):
    assert inspect.getdoc(task.reference)


# ------------------------------------------------------------------ a second acceptable output
@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_only_relu_grad_input_has_an_alternative(task):
    want = task.name == "relu_grad_input"
    assert (task.alternative is not None) is want
    case = task.make_inputs(np.random.default_rng(0))
    assert (task.alternative_for(case, task.expected(case)) is not None) is want
    assert task.alternative_for(None, task.expected(case)) is None


@pytest.mark.parametrize("x_input, grad_output, expected, want", [
    ([[-1.0, 0.0, 2.0]], [[3.0, -4.0, 5.0]], [[0.0, 0.0, 5.0]], [[0.0, -4.0, 5.0]]),
    ([[0.0], [0.0]], [[7.0], [8.0]], [[0.0], [0.0]], [[7.0], [8.0]]),
    ([[-0.0, 1e-300]], [[2.0, 3.0]], [[0.0, 3.0]], [[2.0, 3.0]]),   # -0.0 is 0; 1e-300 is not
    ([[1.0, -1.0]], [[2.0, 3.0]], [[2.0, 0.0]], [[2.0, 0.0]]),     # no kink: the expected output
], ids=["mixed", "all-zero", "signed-zero", "no-zero"])
def test_relu_grad_at_zero(x_input, grad_output, expected, want):
    case = {"x_input": np.array(x_input), "grad_output": np.array(grad_output)}
    got = tasks.relu_grad_at_zero(case, np.array(expected))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
