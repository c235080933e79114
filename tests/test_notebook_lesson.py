"""The lesson as a student meets it: what to hand in, where the data comes from, a try-it
cell per graded function, checks that state a good value and fail loudly, and experiments
whose pictures and numbers show learning. Cells are run in this process with the
references (or a typical mistake) as the student's functions; figures are inspected,
never stored."""

from __future__ import annotations

import contextlib
import io
import os
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from notebook_support import provided_namespace, read

import dataset_utils
import gradient_check
import solutions
from grader import notebooks as nb
from grader.client import paths
from grader.core.tasks import TASKS

plt.switch_backend("Agg")

WEEK3 = [task.name for task in TASKS if task.week == 3]
STUDENT_README = paths.KIT_ROOT / "grader" / "release" / "student_readme.md"
REFERENCES = {name: getattr(solutions, name) for name in solutions.__all__}

# Typical mistakes, one per graded function (the same kinds the example class makes).
FLIPPED_CONV = {"conv_matrix": lambda matrix, kernel: solutions.conv_matrix(matrix, kernel[::-1, ::-1])}
MISTAKES = {
    "conv_matrix": FLIPPED_CONV,
    "box_blur": {"box_blur": lambda image, box_size: solutions.conv_matrix(
        image, np.ones((box_size, box_size)))},
    "maxpool_forward": {"maxpool_forward": lambda x_input: x_input.reshape(
        x_input.shape[0] // 2, 2, x_input.shape[1] // 2, 2).min(axis=(1, 3))},
    "flatten_forward": {"flatten_forward": lambda x_input: x_input.reshape(
        x_input.shape[0], -1, order="F")},
}


def cells_with(tag):
    notebook = read()
    return [(i, c.source) for i, c in enumerate(notebook.cells)
            if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def markdown() -> str:
    return "\n".join(c.source for c in read().cells if c.cell_type == "markdown")


def namespace(extra=None) -> dict:
    """What the notebook's setup cell and provided cells define, with the references."""
    setup = {"plt": plt, "dataset_utils": dataset_utils, "rel_error": gradient_check.rel_error,
             "numerical_gradient": gradient_check.numerical_gradient}
    return provided_namespace({**setup, **(extra or {})})


def run(source, names) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, "<cell>", "exec"), names)
    return printed.getvalue()


# --- what to hand in, and where the data comes from --------------------------------

@pytest.mark.parametrize("where", ["notebook", "student README"])
def test_students_are_told_what_to_hand_in_and_how(where):
    text = read().cells[0].source if where == "notebook" else STUDENT_README.read_text()
    assert "What to hand in" in text
    for fragment in ["`assignment.ipynb`", "`Blocks.py`", "if you wrote or changed it",
                     "not submitted", "not zipped", "imports, functions and classes"]:
        assert fragment in text, fragment


def test_student_readme_states_the_supported_pythons():
    assert "Python 3.10 to 3.13" in STUDENT_README.read_text()


def test_the_kit_never_sends_students_to_make():
    """The student kit has no Makefile: every text it ships names the download command."""
    texts = {"notebook": "\n".join(c.source for c in read().cells),
             "student README": STUDENT_README.read_text(),
             "sample README": (dataset_utils.SAMPLE_DIR / "README.md").read_text(),
             "dataset_utils": open(dataset_utils.__file__).read()}
    for where, text in texts.items():
        assert not re.search(r"\bmake (data|sample|release)\b", text), where
    assert dataset_utils.DOWNLOAD_COMMAND == "python -m dataset_utils download"
    for where in ("notebook", "student README", "sample README"):
        assert dataset_utils.DOWNLOAD_COMMAND in texts[where], where
    assert dataset_utils.DOWNLOAD_COMMAND in dataset_utils.HOW_TO_GET_DATA


def test_the_question_on_other_digits_says_how_to_get_them():
    questions = next(c.source for c in read().cells if "Questions to explore" in c.source)
    other_digits = next(line for line in questions.split("\n4. ")[1:])
    assert dataset_utils.DOWNLOAD_COMMAND in other_digits and "digits=" in other_digits


# --- try it ----------------------------------------------------------------------

def test_every_graded_function_has_a_try_it_cell_after_its_check():
    notebook = read()
    checks = {name: index for index, name, _ in nb.check_calls(notebook)}
    try_its = cells_with("try-it")
    for name in WEEK3:
        after = [index for index, source in try_its
                 if index > checks[name] and re.search(rf"\b{name}\(", source)]
        assert after, f"no try-it cell calls {name} after its check"
        assert "expected" in dict(try_its)[after[0]]


def test_try_it_cells_agree_with_the_references():
    names = namespace()
    outputs = [run(source, names) for _, source in cells_with("try-it")]
    assert len(outputs) == 4
    for output in outputs:
        assert "same as expected: True" in output, output
    assert "gives x back: True" in outputs[-1]


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_try_it_cells_show_a_typical_mistake(name):
    names = namespace(MISTAKES[name])
    [source] = [s for _, s in cells_with("try-it") if re.search(rf"^got = {name}\(", s, re.M)]
    assert "same as expected: False" in run(source, names)


def test_try_it_cells_hold_the_worked_examples():
    sources = "\n".join(source for _, source in cells_with("try-it"))
    for fragment in ["[[7, 10, 3], [10, 14, 6], [3, 6, 8]]", "[[9, 0, 9], [0, 0, 0], [9, 0, 9]]",
                     "[[4, 8], [6, 7]]", "reshape(2, 3, 2, 2)"]:
        assert fragment in sources


# --- checks that state a good value and fail loudly ------------------------------------

def test_every_gradient_check_states_a_good_value_and_raises():
    cells = cells_with("gradient-check")
    assert len(cells) == 2
    for _, source in cells:
        assert "good: below 1e-6" in source and "raise AssertionError" in source


def test_pooling_check_passes_with_a_correct_forward():
    [(_, source)] = [c for c in cells_with("gradient-check") if "MaxPool2x2()" in c[1]]
    output = run(source, namespace())
    error = float(re.search(r"relative error: (\S+) ", output).group(1))
    assert error < 1e-7


def test_pooling_check_fails_loudly_and_names_maxpool_forward_when_it_pools_wrongly():
    """Why the course's check printed 1.0: the provided backward routes the gradient to each
    window's largest value, while the numerical gradient follows the student's forward."""
    [(_, source)] = [c for c in cells_with("gradient-check") if "MaxPool2x2()" in c[1]]
    with pytest.raises(AssertionError, match=r"relative error 1\.0e\+00.*maxpool_forward must"):
        run(source, namespace(MISTAKES["maxpool_forward"]))


def test_conv_gradient_check_fails_loudly_when_the_layer_is_broken():
    [(_, source)] = [c for c in cells_with("gradient-check") if "ConvLayer(" in c[1]]
    names = namespace()
    broken = names["ConvLayer"]
    original_backward = broken.backward

    def halved_backward(self, x_input, grad_output):
        grad = original_backward(self, x_input, grad_output)
        return grad * 0.5

    broken.backward = halved_backward
    with pytest.raises(AssertionError, match="disagrees with the numerical gradient"):
        run(source, names)


def test_layer_check_relates_conv_layer_to_conv_matrix():
    [(_, source)] = cells_with("layer-check")
    output = run(source, namespace())
    differences = [float(x) for x in re.findall(r"conv_matrix loops: (\S+)", output)]
    assert len(differences) == 2 and max(differences) < 1e-12
    with pytest.raises(AssertionError, match="check conv_matrix"):
        run(source, namespace(FLIPPED_CONV))


def test_conv_layer_text_shows_the_loops_over_conv_matrix_and_no_optimisation_jargon():
    text = markdown()
    assert "out[n, o] = b[o] + sum(conv_matrix(x[n, c], W[o, c]) for c in range(n_in))" in text
    provided = "\n".join(source for _, source in cells_with("provided"))
    for jargon in ["page fault", "work array", "workspace", "BLAS", "cache", "allocat"]:
        assert jargon.lower() not in (text + provided).lower(), jargon


def test_training_section_says_what_accuracy_to_expect():
    training = next(c.source for c in read().cells
                    if c.cell_type == "markdown" and c.source.startswith("### Training"))
    for fragment in ["50%", "about 90%", "about 98%", "about 97%", "learns nothing"]:
        assert fragment in training


# --- the pictures and the experiment (one run of the lesson in this process) ------------

@pytest.fixture(scope="module")
def lesson():
    """Every code cell but setup, checks and progress, in order, with the references.

    Returns:
        (namespace, {cell index: (printed text, [figures])}).
    """
    notebook = nb.solve(read(), REFERENCES)
    names = namespace()
    shown, results = [], {}
    real_show, real_folder = plt.show, os.getcwd()
    plt.show = lambda *args, **kwargs: shown.extend(plt.figure(n) for n in plt.get_fignums())
    os.chdir(paths.KIT_ROOT)          # the notebook reads images/ and data/ from its folder
    try:
        for index, cell in enumerate(notebook.cells):
            tags = cell.metadata.get("tags", [])
            if cell.cell_type != "code" or {"setup", "check"} & set(tags) or "am." in cell.source:
                continue
            shown.clear()
            results[index] = (run(cell.source, names), list(shown))
            plt.close("all")
    finally:
        plt.show = real_show
        os.chdir(real_folder)
    return names, results


def _figures_of(lesson, fragment):
    notebook = read()
    [(text, figures)] = [lesson[1][i] for i, c in enumerate(notebook.cells)
                         if c.cell_type == "code" and fragment in c.source and i in lesson[1]]
    return text, figures


def _images(figure):
    """The AxesImages of a figure, colour bars left out."""
    return [image for ax in figure.axes for image in ax.get_images() if ax.get_label() != "<colorbar>"]


@pytest.mark.slow
def test_sobel_panels_are_centred_on_zero_with_a_colour_bar_and_no_padding_ring(lesson):
    text, [figure] = _figures_of(lesson, "sobel_x = ")
    ring, inside = map(float, re.search(r"outer ring: ([\d.]+), inside the photograph: ([\d.]+)",
                                        text).groups())
    assert ring > 5 * inside          # the false edge of zero padding, measured
    signed = [image for image in _images(figure) if image.get_cmap().name == "RdBu_r"]
    assert len(signed) == 2
    for image in signed:
        low, high = image.get_clim()
        assert low == -high > -np.inf
        assert image.get_array().shape == (254, 254)     # the outer ring is cut off
    assert sum(ax.get_label() == "<colorbar>" for ax in figure.axes) == 2


@pytest.mark.slow
def test_the_network_learns_over_several_epochs(lesson):
    names, _ = lesson
    train = names["history"]["train accuracy"]
    assert len(train) == names["n_epochs"] + 1
    assert train[0] < 0.7                  # before training: no better than guessing
    assert train[1] < 0.95                 # not solved in one epoch
    assert train[-1] >= 0.97 and train[-1] > train[1] + 0.03
    assert names["test_accuracy"] >= 0.95
    losses = names["history"]["loss"]
    assert np.mean(losses[:10]) > 0.5 > 0.1 > np.mean(losses[-20:])


@pytest.mark.slow
def test_loss_is_linear_from_zero_and_accuracy_spans_0_to_100_with_chance(lesson):
    _, [figure] = _figures_of(lesson, "test_accuracy = accuracy(")
    loss_ax, accuracy_ax = figure.axes
    assert loss_ax.get_yscale() == "linear" and loss_ax.get_ylim()[0] == 0
    assert accuracy_ax.get_ylim() == (0, 100)
    assert any(list(line.get_ydata()) == [50, 50] for line in accuracy_ax.get_lines())


@pytest.mark.slow
def test_learned_kernels_are_shown_on_one_centred_scale_and_no_channel_is_dead(lesson):
    names, _ = lesson
    text, [figure] = _figures_of(lesson, "learned = model.layers[0].W")
    images = _images(figure)
    assert len(images) == 8
    assert {image.get_clim() for image in images} == {images[0].get_clim()}
    low, high = images[0].get_clim()
    assert low == -high
    shown = np.array([image.get_array() for image in images[4:]])
    np.testing.assert_array_equal(shown, names["model"].layers[0].W[:, 0])
    assert any(ax.get_label() == "<colorbar>" for ax in figure.axes)
    for line in text.strip().splitlines():
        shares = [float(x) for x in re.findall(r"\d+\.?\d*", line.split(":")[-1])]
        assert len(shares) == 4 and min(shares) > 0.05, line


@pytest.mark.slow
def test_activation_rows_share_one_colour_scale_with_a_colour_bar(lesson):
    _, [figure] = _figures_of(lesson, "def stages_of(")
    images = _images(figure)
    assert len(images) == 10                      # 5 stages x 2 digits
    colour_bars = [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 5
    for row in range(5):
        three, eight = images[2 * row], images[2 * row + 1]
        assert three.get_clim() == eight.get_clim() and three.get_clim()[0] == 0
