"""grader.automark_api (``import automark as am``): test_student_function and get_progress."""

import json
import re

import numpy as np
import pytest
from grader_fixtures import alice_registered, student_module, write_roster  # noqa: F401
from wrong_submissions import (
    ClaimsToBeAnArray,
    blur_not_normalised,
    conv_flipped_kernel,
    conv_without_padding,
    flatten_fortran_order,
    hinge_sum_not_mean,
    named,
    pool_takes_the_minimum,
    relu_in_place,
    relu_lying_array_right_data,
    relu_lying_array_wrong_data,
    relu_nan,
    relu_raises,
    relu_returns_a_liar,
    relu_returns_none,
    relu_stub,
    relu_wrong_shape,
)

import automark as am
import solutions
from grader.client import automark_api, messages
from grader.client.progress import ProgressStore
from grader.core import cases, checking, tasks

CONV = tasks.get_task("conv_matrix")
N_LOCAL = len(cases.make_cases(CONV, "alice", "local"))
N_REMOTE = len(cases.make_cases(CONV, "alice", "remote"))
PASSED = ["Running local tests...", "{name} successfully passed local tests",
          "Running remote test...", "Test was successful. Congratulations!"]


def printed(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


# ------------------------------------------------------------------ what is printed
@pytest.mark.parametrize("task", tasks.TASKS, ids=[task.name for task in tasks.TASKS])
def test_reference_prints_automarks_success_lines(capsys, task):
    assert am.test_student_function("alice", task.reference, list(task.arg_names)) is None
    assert printed(capsys) == [line.format(name=task.name) for line in PASSED]


def without_inputs(lines):
    """The report without the lines that show a small failing case's values."""
    return [line for line in lines if not line.startswith(("      its inputs: ", " " * 14))]


def test_wrong_function_prints_automarks_failure_lines_and_why(capsys):
    am.test_student_function("alice", conv_flipped_kernel, ["matrix", "kernel"])
    lines = printed(capsys)
    assert lines[4].startswith("      its inputs: matrix = [[") and lines[5].startswith(
        " " * 18 + "kernel = [[")
    lines = without_inputs(lines)
    assert lines[:2] == ["Running local tests...", "conv_matrix failed some local tests"]
    assert lines[2].startswith("    ") and lines[2].endswith(f" of {N_LOCAL} local cases failed.")
    assert lines[3].startswith("    First failure: case 1 (matrix (1, 5), kernel (1, 3)): ")
    assert "values differ beyond the tolerance; largest error" in lines[3]
    assert lines[4] == ("    Recognised mistake: true convolution (kernel flipped): the kernel was "
                        "flipped before sliding it: the lesson's convolution is a cross-correlation, "
                        "out[i, j] = sum K[a, b] * padded[i + a, j + b]")
    del lines[4]
    assert lines[4:6] == ["Running remote test...", "Test failed. Please review your code."]
    assert lines[6].endswith(f" of {N_REMOTE} remote cases failed.")
    assert lines[7].startswith("    First failure (hidden case): ")
    assert "expected" not in lines[7]
    assert len(lines) == 8


WRONG = {
    # name: (function, want in the local explanation, want in the remote explanation)
    "flipped-kernel": (conv_flipped_kernel, "values differ beyond the tolerance; largest error",
                       "values differ beyond the tolerance; for example at index"),
    "no-padding": (conv_without_padding, "expected shape (1, 5), got (1, 3)",
                   "expected shape"),
    "blur-not-normalised": (blur_not_normalised, "case 0 (image (3, 3), box_size=3): 9 of 9 "
                            "values differ beyond the tolerance; largest error 32 at index "
                            "[1, 1]: expected 4, got 36", "for example at index [1, 1]"),
    "pool-minimum": (pool_takes_the_minimum, "case 0 (x_input (2, 2)): 1 of 1 values differ",
                     "1 of 1 values differ"),
    "flatten-fortran": (flatten_fortran_order, "case 1 (x_input (1, 3, 2, 4)): ",
                        "values differ beyond the tolerance"),
    "hinge-sum": (hinge_sum_not_mean, "case 0 (target_pred (4,), target_true (4,)): 1 of 1 "
                  "values differ beyond the tolerance; largest error 2.625: expected 0.875, "
                  "got 3.5", "1 of 1 values differ"),
    "wrong-shape": (relu_wrong_shape, "expected shape (", "expected shape ("),
    "nan": (relu_nan, "got nan at index [0, 0] where a finite number was expected",
            "got nan at index [0, 0] where a finite number was expected"),
    "exception": (relu_raises, "raised IndexError: index ", "(line "),
    "returns-none": (relu_returns_none, "returned None: did you forget the `return` statement?",
                     "returned None"),
    "lying-object": (relu_returns_a_liar, "returned a wrong_submissions.Liar, expected a NumPy "
                     "array or a number", "returned a wrong_submissions.Liar"),
    "lying-array": (relu_lying_array_wrong_data, "values differ beyond the tolerance",
                    "values differ beyond the tolerance"),
}


# the mistake the notebook names (the same words as class feedback), or None
NAMED = {"flipped-kernel": "true convolution (kernel flipped)",
         "no-padding": "no zero padding ('valid' output)",
         "blur-not-normalised": "not normalised (sum instead of mean)",
         "pool-minimum": "minimum instead of maximum",
         "flatten-fortran": "flattened in Fortran (column-major) order",
         "hinge-sum": "sum instead of mean"}


@pytest.mark.parametrize("function, want_local, want_remote", list(WRONG.values()),
                         ids=list(WRONG))
def test_wrong_function_is_explained(capsys, request, function, want_local, want_remote):
    name = function.__name__
    am.test_student_function("alice", function, list(tasks.get_task(name).arg_names))
    lines = without_inputs(printed(capsys))
    assert lines[:2] == ["Running local tests...", f"{name} failed some local tests"]
    assert re.fullmatch(r"    \d+ of \d+ local cases failed\.", lines[2])
    assert lines[3].startswith("    First failure: case ") and want_local in lines[3]
    named = NAMED.get(request.node.callspec.id)
    if named:
        assert lines.pop(4).startswith(f"    Recognised mistake: {named}: ")
    assert not any("Recognised mistake" in line for line in lines)
    assert lines[4:6] == ["Running remote test...", "Test failed. Please review your code."]
    assert re.fullmatch(r"    \d+ of \d+ remote cases failed\.", lines[6])
    assert lines[7].startswith("    First failure (hidden case): ") and want_remote in lines[7]
    assert len(lines) == 8


def test_right_answer_in_a_lying_array_passes(capsys):
    am.test_student_function("alice", relu_lying_array_right_data, ["x_input"])
    assert printed(capsys) == [line.format(name="relu_forward") for line in PASSED]


def test_stub_prints_one_explanation(capsys):
    am.test_student_function("alice", relu_stub, ["x_input"])
    assert printed(capsys) == [
        "Running local tests...", "relu_forward failed some local tests",
        "    relu_forward is not implemented yet: replace the `raise NotImplementedError` line "
        "in its cell with your code.",
        "Running remote test...", "Test failed. Please review your code."]


def test_mutating_function_passes_with_a_warning(capsys):
    am.test_student_function("alice", relu_in_place, ["x_input"])
    lines = printed(capsys)
    assert lines[:4] == [line.format(name="relu_forward") for line in PASSED]
    assert lines[4:] == ["Warning: relu_forward changed its input `x_input` in place. Work on a "
                         "copy (e.g. x = x.copy()); layers reuse their inputs in the backward "
                         "pass."]


def test_exception_is_explained_with_the_students_line(capsys, student_module):
    module = student_module('''\
        import numpy as np


        def flatten_forward(x_input):
            n = x_input.shape[0]
            return x_input.reshape(n, n)
        ''')
    am.test_student_function("alice", module.flatten_forward, ["x_input"])
    lines = printed(capsys)
    assert lines[1] == "flatten_forward failed some local tests"
    assert "raised ValueError: cannot reshape array" in lines[3]
    assert lines[3].endswith("(line 6 of flatten_forward: return x_input.reshape(n, n))")


def test_local_calls_by_keyword_remote_by_position(capsys):
    calls = []

    def conv_matrix(*args, **kwargs):
        calls.append((len(args), tuple(kwargs)))
        return solutions.conv_matrix(*args, **kwargs)

    am.test_student_function("alice", conv_matrix, ["matrix", "kernel"])
    assert printed(capsys)[-1] == "Test was successful. Congratulations!"
    assert calls == [(0, ("matrix", "kernel"))] * N_LOCAL + [(2, ())] * N_REMOTE


def test_wrong_parameter_names_fail_locally_with_an_explanation(capsys):
    def conv_matrix(mat, kern):
        return solutions.conv_matrix(mat, kern)

    am.test_student_function("alice", conv_matrix, ["matrix", "kernel"])
    lines = without_inputs(printed(capsys))
    assert lines[1] == "conv_matrix failed some local tests"
    assert lines[3] == ("    First failure: case 0 (matrix (1, 1), kernel (1, 1)): conv_matrix(mat, kern) "
                        "cannot be called as (matrix=..., kernel=...): name its parameters matrix, "
                        "kernel, in this order")
    # AutoMark's hidden calls are positional, so they pass; the function is not completed
    assert lines[4:] == ["Running remote test...", "Test failed. Please review your code.",
                         "    The hidden cases passed, but a function is completed only when its "
                         "local cases pass too."]
    assert dict(automark_api.progress_rows("alice"))["[MAN] conv_matrix"] == "attempted"


# ------------------------------------------------------------------ refusals
CONV_REFUSALS = {
    "missing-key": (["matrix"], "arg_keys ['matrix'] do not match conv_matrix's arguments "
                                "(missing ['kernel']): use ['matrix', 'kernel']"),
    "unknown-key": (["matrix", "kernal"], "arg_keys ['matrix', 'kernal'] do not match "
                                          "conv_matrix's arguments (unknown ['kernal']; missing "
                                          "['kernel']): use ['matrix', 'kernel']"),
    "extra-key": (["matrix", "kernel", "stride"], "arg_keys ['matrix', 'kernel', 'stride'] do not "
                                                  "match conv_matrix's arguments (unknown "
                                                  "['stride']): use ['matrix', 'kernel']"),
    "wrong-order": (["kernel", "matrix"], "arg_keys ['kernel', 'matrix'] list the right names in "
                                          "the wrong order: use ['matrix', 'kernel']"),
    "a-string": ("matrix, kernel", "arg_keys must be a list of argument names, got "
                                   "'matrix, kernel': use ['matrix', 'kernel']"),
    "none": (None, "arg_keys must be a list of argument names, got None: use "
                   "['matrix', 'kernel']"),
    "a-dict": ({"matrix": 0, "kernel": 1}, "arg_keys must be a list of argument names, got "
                                           "{'matrix': 0, 'kernel': 1}: use ['matrix', 'kernel']"),
    "empty": ([], "arg_keys [] do not match conv_matrix's arguments (missing ['matrix', "
                  "'kernel']): use ['matrix', 'kernel']"),
}


@pytest.mark.parametrize("arg_keys, want", list(CONV_REFUSALS.values()), ids=list(CONV_REFUSALS))
def test_wrong_arg_keys_get_one_line(capsys, arg_keys, want):
    assert am.test_student_function("alice", solutions.conv_matrix, arg_keys) is None
    assert printed(capsys) == [want]


def test_tuple_arg_keys_are_accepted(capsys):
    am.test_student_function("alice", solutions.conv_matrix, ("matrix", "kernel"))
    assert printed(capsys)[-1] == "Test was successful. Congratulations!"


def conv_matrx(matrix, kernel):
    return solutions.conv_matrix(matrix, kernel)


@pytest.mark.parametrize("username, function, want", [
    ("alice", conv_matrx, "AutoMark does not grade a function called 'conv_matrx'. Did you mean "
                          "'conv_matrix'? Graded functions: box_blur, conv_matrix, "),
    ("alice", lambda matrix, kernel: matrix, "AutoMark does not grade a function called "
                                             "'<lambda>'."),
    ("alice", np.ones((2, 2)), "expected the function itself (e.g. conv_matrix, without "
                               "parentheses), got a ndarray"),
    ("alice", "conv_matrix", "expected the function itself (e.g. conv_matrix, without "
                             "parentheses), got a str"),
    ("a/b", solutions.conv_matrix, "username must be a short name of letters, digits"),
    ("..", solutions.conv_matrix, "username must be a short name of letters, digits"),
    ("", solutions.conv_matrix, "username must be a short name of letters, digits"),
    (None, solutions.conv_matrix, "username must be a short name of letters, digits"),
])
def test_refusal_is_one_line_without_a_traceback(capsys, isolated_progress, username, function,
                                                 want):
    assert am.test_student_function(username, function, ["matrix", "kernel"]) is None
    lines = printed(capsys)
    assert len(lines) == 1 and lines[0].startswith(want)
    assert "Traceback" not in lines[0] and "KeyError" not in lines[0]
    assert not isolated_progress.exists() or not any(isolated_progress.glob("*.json"))


def test_unknown_function_lists_every_graded_function(capsys):
    am.test_student_function("alice", conv_matrx, ["matrix", "kernel"])
    line, = printed(capsys)
    assert line.endswith(", ".join(sorted(tasks.task_names())) + ".")


def test_object_lying_about_its_class_fails_cleanly(capsys):
    @named("relu_forward")
    def relu_forward(x_input):
        return ClaimsToBeAnArray()

    am.test_student_function("alice", relu_forward, ["x_input"])
    assert "Test failed. Please review your code." in printed(capsys)


# ------------------------------------------------------------------ what is recorded
def test_progress_goes_from_attempted_to_completed_and_stays():
    store = ProgressStore()
    am.test_student_function("alice", conv_flipped_kernel, ["matrix", "kernel"])
    assert store.states("alice") == {"conv_matrix": "attempted"}
    am.test_student_function("alice", solutions.conv_matrix, ["matrix", "kernel"])
    assert store.states("alice") == {"conv_matrix": "completed"}
    am.test_student_function("alice", conv_flipped_kernel, ["matrix", "kernel"])
    assert store.states("alice") == {"conv_matrix": "completed"}
    history = store.load("alice")["history"]
    assert [(h["local_passed"], h["remote_passed"]) for h in history] == [
        (False, False), (True, True), (False, False)]


def test_stub_records_nothing(isolated_progress):
    am.test_student_function("alice", relu_stub, ["x_input"])
    assert ProgressStore().states("alice") == {}
    assert not (isolated_progress / "alice.json").exists()


def test_refusal_records_nothing(isolated_progress):
    am.test_student_function("alice", solutions.conv_matrix, ["kernel", "matrix"])
    assert not (isolated_progress / "alice.json").exists()


def test_run_check_returns_the_task_and_the_result():
    task, check = automark_api.run_check("alice", solutions.box_blur, ["image", "box_size"])
    assert task is tasks.get_task("box_blur") and check.passed


def test_run_check_refuses_with_check_refused():
    with pytest.raises(automark_api.CheckRefused, match="wrong order"):
        automark_api.run_check("alice", solutions.box_blur, ["box_size", "image"])


# ------------------------------------------------------------------ roster and progress
def table_rows(lines):
    return [line for line in lines if line.startswith("| [")]


def test_get_progress_without_roster_shows_the_username(capsys):
    assert am.get_progress("anyone42") is None
    lines = printed(capsys)
    assert lines[:3] == ["-" * 45, "| " + "anyone42".ljust(41) + " |", "-" * 45]
    assert lines[-1] == "-" * 45
    assert all(len(line) == 45 for line in lines)


def test_get_progress_with_roster_shows_name_and_email(capsys, alice_registered):
    am.get_progress("alice")
    lines = printed(capsys)
    assert lines[1] == "| " + "Alice Liddell".ljust(41) + " |"
    assert lines[2] == "| " + "alice@example.org".ljust(41) + " |"
    assert lines[3] == "-" * 45
    assert all(len(line) == 45 for line in lines)


def test_get_progress_with_roster_entry_without_name_shows_the_username(capsys,
                                                                        alice_registered):
    am.get_progress("bob")
    lines = printed(capsys)
    assert lines[1] == "| " + "bob".ljust(41) + " |" and lines[2] == "-" * 45


@pytest.mark.parametrize("call", [
    lambda: am.get_progress("carol"),
    lambda: am.test_student_function("carol", solutions.conv_matrix, ["matrix", "kernel"]),
], ids=["get_progress", "test_student_function"])
def test_unregistered_user_is_refused(capsys, alice_registered, isolated_progress, call):
    assert call() is None
    assert printed(capsys) == ["user 'carol' is not registered."]
    assert not (isolated_progress / "carol.json").exists()


def test_registered_user_can_check(capsys, alice_registered):
    am.test_student_function("alice", solutions.conv_matrix, ["matrix", "kernel"])
    assert printed(capsys)[-1] == "Test was successful. Congratulations!"


def test_broken_roster_is_reported_in_one_line(capsys, write_roster):
    write_roster("user,name\nalice,Alice\n")
    am.get_progress("alice")
    line, = printed(capsys)
    assert "the roster needs a 'username' column" in line


def test_table_lists_every_task_once_in_order_with_states(capsys):
    store = ProgressStore()
    store.record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    store.record("alice", "mse_forward", local_passed=False, remote_passed=False)
    store.record("alice", "dense_grad_W", local_passed=True, remote_passed=False)
    am.get_progress("alice", last_week=True)
    printed_lines = printed(capsys)
    rows = table_rows(printed_lines)
    labels = [row[2:26].rstrip() for row in rows]
    states = {row[2:26].rstrip(): row[29:43].rstrip() for row in rows}
    assert labels == [task.label for task in tasks.ordered_for_progress()]
    assert len(labels) == len(set(labels)) == len(tasks.TASKS)
    week3 = [t.label for t in tasks.TASKS if t.week == 3]
    assert labels[:len(week3)] == sorted(week3, key=str.lower)   # this assignment's first
    last_week = labels[len(week3):]
    assert last_week == sorted(last_week, key=lambda label: (label.startswith("[OPT]"), label.lower()))
    assert "| Last week's, from Blocks.py:" in "\n".join(printed_lines)
    assert states.pop("[MAN] conv_matrix") == "completed"
    assert states.pop("[OPT] mse_forward") == "attempted"
    assert states.pop("[MAN] dense_grad_W") == "attempted"
    assert set(states.values()) == {"not attempted"}


def test_progress_rows_pair_labels_with_states():
    ProgressStore().record("alice", "box_blur", local_passed=True, remote_passed=True)
    rows = automark_api.progress_rows("alice", last_week=True)
    assert rows[0] == ("[MAN] box_blur", "completed")
    assert rows[-1] == ("[OPT] mse_grad_input", "not attempted")


def test_progress_text_is_what_get_progress_prints(capsys):
    am.get_progress("alice")
    assert capsys.readouterr().out == automark_api.progress_text("alice") + "\n"


def test_progress_file_is_json_after_a_check(isolated_progress):
    am.test_student_function("alice", solutions.relu_forward, ["x_input"])
    data = json.loads((isolated_progress / "alice.json").read_text())
    assert data["tasks"]["relu_forward"]["state"] == "completed"


def test_messages_constants_are_automarks():
    assert (messages.RUNNING_LOCAL, messages.RUNNING_REMOTE, messages.REMOTE_PASSED,
            messages.REMOTE_FAILED) == ("Running local tests...", "Running remote test...",
                                        "Test was successful. Congratulations!",
                                        "Test failed. Please review your code.")


def test_a_function_completed_and_now_failing_is_marked(capsys):
    store = ProgressStore()
    store.record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    store.record("alice", "conv_matrix", local_passed=False, remote_passed=True)
    assert store.states("alice") == {"conv_matrix": "completed"}   # the record stays
    am.get_progress("alice")
    lines = printed(capsys)
    assert any(line.startswith("| [MAN] conv_matrix") and "completed*" in line for line in lines)
    assert lines[-1].startswith("* completed earlier, but your last check of it failed")
    store.record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    am.get_progress("alice")
    assert "completed*" not in "\n".join(printed(capsys))


def test_the_placeholder_username_is_warned_about_once(capsys, monkeypatch):
    monkeypatch.setattr(automark_api, "_warned", set())
    am.get_progress("your_username")
    am.get_progress("your_username")
    text = "\n".join(printed(capsys))
    assert text.count("Note: username is still 'your_username'") == 1


def test_a_function_that_calls_a_failing_graded_function_says_so(capsys):
    def conv_matrix(matrix, kernel):
        return solutions.conv_matrix(matrix, kernel[::-1, ::-1])   # kernel flipped

    def box_blur(image, box_size):
        return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)

    am.test_student_function("alice", conv_matrix, ["matrix", "kernel"])
    am.test_student_function("alice", box_blur, ["image", "box_size"])
    lines = printed(capsys)
    assert not any(line.startswith("Note: box_blur calls") for line in lines)  # a symmetric box passes
    flipped = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])

    def box_blur(image, box_size):  # noqa: F811 - a second, wrong blur that calls conv_matrix
        return conv_matrix(image, flipped)

    am.test_student_function("alice", box_blur, ["image", "box_size"])
    assert printed(capsys)[-1] == ("Note: box_blur calls conv_matrix, which fails its own local "
                                   "cases (checked just now): fix conv_matrix first, then check "
                                   "box_blur again.")


# ------------------------------------------------------- messages that say what is true now
def test_a_correct_box_blur_that_calls_a_stub_conv_matrix_is_told_so(capsys, student_module):
    module = student_module('''\
        import numpy as np

        def conv_matrix(matrix, kernel):
            raise NotImplementedError("conv_matrix: replace this line with your code")

        def box_blur(image, box_size):
            return conv_matrix(image, np.ones((box_size, box_size)) / box_size ** 2)
        ''')
    am.test_student_function("alice", module.box_blur, ["image", "box_size"])
    text = "\n".join(printed(capsys))
    assert "box_blur is not implemented yet" not in text
    assert ": calls conv_matrix, which is not implemented yet (raised NotImplementedError" in text
    assert text.endswith("Note: box_blur calls conv_matrix, which is not implemented yet: write "
                         "conv_matrix first, then check box_blur again.")
    assert ProgressStore().states("alice") == {"box_blur": "attempted"}


def test_a_conv_matrix_fixed_since_its_last_check_is_not_blamed(capsys, student_module):
    flipped = student_module('''\
        import solutions

        def conv_matrix(matrix, kernel):
            return solutions.conv_matrix(matrix, kernel[::-1, ::-1])
        ''')
    am.test_student_function("alice", flipped.conv_matrix, ["matrix", "kernel"])
    assert ProgressStore().states("alice") == {"conv_matrix": "attempted"}  # the old check
    fixed = student_module('''\
        import numpy as np
        import solutions

        def conv_matrix(matrix, kernel):
            return solutions.conv_matrix(matrix, kernel)

        def box_blur(image, box_size):   # not normalised: a mistake of box_blur's own
            return conv_matrix(image, np.ones((box_size, box_size)))
        ''')
    printed(capsys)
    am.test_student_function("alice", fixed.box_blur, ["image", "box_size"])
    text = "\n".join(printed(capsys))
    assert "Recognised mistake: not normalised (sum instead of mean)" in text
    assert "Note:" not in text and "fix conv_matrix" not in text


def test_a_timeout_says_the_hidden_cases_did_not_run():
    def relu_forward(x_input):
        while True:
            pass

    check = checking.check_function(tasks.get_task("relu_forward"), relu_forward, "alice",
                                    call_seconds=0.2, task_seconds=1)
    lines = messages.check_report("relu_forward", check)
    text = "\n".join(lines)
    assert "0 of 0" not in text
    assert "    The hidden cases did not run: a local case ran out of time (see above)." in lines
    n_cases = len(cases.make_cases(check_task := tasks.get_task("relu_forward"), "alice", "local")) \
        + len(cases.make_cases(check_task, "alice", "remote"))
    assert lines[-1] == (f"{n_cases - 1} of {n_cases} cases did not run: the check stops at the "
                         "first call that runs out of time (a local case).")
