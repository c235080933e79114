"""grader.tasks: every graded function declared once, as data."""

import inspect

import numpy as np
import pytest

import solutions
from grader.core import calling, inputs, tasks

SEEDS = (0, 1, 2, 7, 12345)
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
        assert output.dtype.kind == "f" and np.all(np.isfinite(output))


def test_declares_the_issues_functions_once():
    assert sorted(TASK_IDS) == sorted(ISSUE_ARGS)
    assert len(set(TASK_IDS)) == len(TASK_IDS) == len(tasks.task_names())


@pytest.mark.parametrize("task", tasks.TASKS, ids=TASK_IDS)
def test_declaration_matches_the_issue(task):
    assert task.arg_names == ISSUE_ARGS[task.name]
    assert task.mandatory == (task.name in MANDATORY)
    assert task.output == ("scalar" if task.name in SCALARS else "array")
    assert (task.rtol, task.atol) == (1e-5, 1e-5)
    assert task.summary and task.points > 0


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


@pytest.mark.parametrize("name", ["conv_matrix", "box_blur", "maxpool_forward", "flatten_forward",
                                  "flatten_grad_input", "dense_forward", "hinge_forward",
                                  "l2_regularizer", "dropout_forward"])
def test_edge_cases_exist_for(name):
    assert len(tasks.get_task(name).edge_inputs(np.random.default_rng(0))) >= 2


def test_edge_cases_cover_odd_kernels_of_every_shape():
    shapes = {(c["matrix"].shape, c["kernel"].shape)
              for c in tasks.get_task("conv_matrix").edge_inputs(np.random.default_rng(0))}
    kernels = {k for _, k in shapes}
    assert {(1, 1), (1, 3), (3, 1)} <= kernels
    assert any(k[0] > m[0] or k[1] > m[1] for m, k in shapes), "a kernel larger than the matrix"


@pytest.mark.parametrize("name, want", [
    ("conv_matrix", "[MAN] conv_matrix"),
    ("flatten_grad_input", "[MAN] flatten_grad_input"),
    ("mse_forward", "[OPT] mse_forward"),
    ("dropout_grad_input", "[OPT] dropout_grad_input"),
])
def test_label(name, want):
    assert tasks.get_task(name).label == want


def test_ordered_for_progress_puts_mandatory_first_then_optional_alphabetically():
    ordered = tasks.ordered_for_progress()
    flags = [task.mandatory for task in ordered]
    assert flags == sorted(flags, reverse=True)
    mandatory = [task.name for task in ordered if task.mandatory]
    optional = [task.name for task in ordered if not task.mandatory]
    assert mandatory == sorted(MANDATORY, key=str.lower)
    assert optional == sorted(OPTIONAL, key=str.lower)
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
