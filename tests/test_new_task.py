"""A new task, added as docs/adding-a-task.md says, works end to end in a copy of the kit.

The copy gets ``scale_forward(x_input, factor)``: a reference in ``solutions/``, a generator of
random cases and edge cases in ``grader/core/inputs.py``, a hidden family in
``grader/core/hidden.py``, a known mistake, one line in ``grader/core/tasks.py``, and its notebook
cells from ``python -m grader new-task-cells scale_forward --write``. Then, each in a process of
its own run in the copy: the notebook's check passes the right function and fails a wrong one,
``make examples`` fills it in the correct example, ``python -m grader grade`` grades it (and
names the mistake), the server issues and judges it, and ``python -m grader release`` ships its
vectors and not its reference.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader.classgrade.sandbox.modes import bwrap_works

ROOT = Path(__file__).resolve().parent.parent
NAME = "scale_forward"
MARK = "return np.asarray(x_input, dtype=np.float64) * factor"  # the reference's one line

pytestmark = pytest.mark.slow

STEPS = {  # file: text appended, in the order of the guide's steps
    "solutions/scaling.py": f'''"""The reference of the guide's example task."""

import numpy as np


def scale_forward(x_input, factor):
    """Every value of an array multiplied by a factor.

    Args:
        x_input: np.ndarray of any shape, e.g. (n_objects, n_features).
        factor: float.

    Returns:
        np.ndarray of the shape of x_input, float64.
    """
    {MARK}
''',
    "solutions/__init__.py": '''
from solutions.scaling import scale_forward  # noqa: E402

__all__ += ["scale_forward"]
''',
    "grader/core/inputs.py": '''

def scale_forward(rng):
    return {"x_input": _values(rng, _size(rng), _size(rng)), "factor": float(rng.uniform(-3, 3))}


def _scale_edges(rng):
    return [{"x_input": _integers(rng, 1, 5), "factor": 2.0},
            {"x_input": _integers(rng, 2, 4), "factor": 0.0},
            {"x_input": _values(rng, 2, 3), "factor": -1.0}]


EDGES["scale_forward"] = _scale_edges
''',
    "grader/core/hidden.py": '''

def scale_forward(rng):
    return {"x_input": _values(rng, 3, 5), "factor": float(rng.choice([-2.5, 0.5, 3.0]))}
''',
    "grader/classgrade/mistakes.py": '''
MISTAKES += (Mistake("scale_forward", "factor ignored",
                     "the input came back unscaled: multiply it by factor",
                     lambda x_input, factor: x_input * 1.0),)
''',
}
DECLARATION = '    _task("scale_forward", "x_input factor", summary="x * factor"),\n'
RIGHT = "def scale_forward(x_input, factor):\n    return x_input * factor\n"
WRONG = "def scale_forward(x_input, factor):\n    return x_input * 1.0\n"


def run(kit: Path, *args, timeout=300) -> str:
    """``python ARGS`` in the copy, which must succeed; its standard output."""
    env = {**os.environ, "PYTHONPATH": str(kit), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, *args], cwd=kit, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"python {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def tracked_files() -> list[str]:
    """The kit's files as git knows them (committed or new, not ignored), as they are now."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the kit's git repository to know its files")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def copy_with_new_task(kit: Path) -> Path:
    """The kit copied into ``kit``, with ``scale_forward`` added as docs/adding-a-task.md says."""
    for name in tracked_files():
        (kit / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, kit / name)
    for name, text in STEPS.items():
        path = kit / name
        path.write_text((path.read_text() if path.exists() else "") + text)
    tasks_py = kit / "grader" / "core" / "tasks.py"
    source = tasks_py.read_text()
    end = source.index("\n)\n", source.index("TASKS: tuple[Task, ...] = ("))
    tasks_py.write_text(source[:end + 1] + DECLARATION + source[end + 1:])
    run(kit, "-m", "grader", "new-task-cells", NAME, "--write")
    return kit


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    return copy_with_new_task(tmp_path_factory.mktemp("kit"))


def test_the_notebook_has_the_cells_and_is_in_step(kit):
    out = run(kit, "-c", "from grader import notebooks as nb, task_cells\n"
                         "notebook = nb.load_notebook('assignment.ipynb')\n"
                         "print(task_cells.out_of_step(notebook), sorted(nb.stub_cells(notebook)))")
    assert out.startswith("[] [") and f"'{NAME}'" in out


def check_lines(kit: Path, definition: str, folder: str = ".") -> str:
    script = (f"import automark as am\n{definition}\n"
              f"am.test_student_function('ada', scale_forward, ['x_input', 'factor'])\n")
    return run(kit / folder, "-c", "import numpy as np\n" + script)


def test_the_notebook_check_passes_a_right_function_and_fails_a_wrong_one(kit):
    assert f"{NAME} successfully passed local tests" in check_lines(kit, RIGHT)
    wrong = check_lines(kit, WRONG)
    assert f"{NAME} failed some local tests" in wrong and "factor ignored" in wrong


@pytest.fixture(scope="module")
def examples(kit) -> Path:
    """``make examples``' script, run in the copy."""
    run(kit, "-m", "scripts.make_example_submissions", "--out", str(kit / "subs"))
    return kit / "subs"


def code(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(str(path), as_version=4).cells)


def test_the_correct_example_fills_the_new_task(examples):
    assert MARK in code(examples / "ada_correct" / "assignment.ipynb")
    assert f'raise NotImplementedError("{NAME}' in code(examples / "ivy_untouched" / "assignment.ipynb")


@pytest.mark.sandbox
def test_grade_grades_it_and_names_the_mistake(kit, examples, tmp_path):
    if not bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    klass = tmp_path / "class"
    shutil.copytree(examples / "ada_correct", klass / "ada_correct")
    notebook = nbformat.read(str(examples / "ada_correct" / "assignment.ipynb"), as_version=4)
    for cell in notebook.cells:
        if MARK in cell.source:
            cell.source = WRONG
    (klass / "ben_wrong").mkdir()
    nbformat.write(notebook, str(klass / "ben_wrong" / "assignment.ipynb"))
    run(kit, "-m", "grader", "grade", str(klass), "--out", str(tmp_path / "out"), "-j", "2",
        "--tasks", f"{NAME},flatten_forward")
    with open(tmp_path / "out" / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {row["username"]: row for row in csv.DictReader(f)}
    assert (rows["ada_correct"][NAME], rows["ben_wrong"][NAME]) == ("1", "0")
    assert rows["ben_wrong"]["flatten_forward"] == "1"
    feedback = (tmp_path / "out" / "feedback" / "ben_wrong.md").read_text()
    assert "factor ignored" in feedback


def test_the_server_issues_and_judges_it(kit, tmp_path):
    script = textwrap.dedent(f"""
        import json
        import numpy as np
        from grader.client.roster import Student
        from grader.core.tasks import TASKS, get_task
        from grader.server import cases
        from grader.server.service import AutoMarkService
        from grader.server.store import ServerStore

        store = ServerStore({str(tmp_path / 'server.sqlite')!r})
        store.add_users([Student("ada", "Ada", "")], now=0.0)
        service = AutoMarkService(store, cases.build_local_tests(TASKS), rate_limit_seconds=0)
        data = json.loads(service.get_test_input("ada", "{NAME}"))
        case = {{k: np.array(v["data"]) if v["type"] == "ndarray" else v["data"]
                for k, v in data["input"].items()}}
        answer = get_task("{NAME}").reference(**case).tolist()
        segment = json.dumps(answer, separators=(",", ":")).encode()
        print(service.check_answer("ada", "{NAME}", str(data["ipd"]), segment))
        print(json.loads(service.get_progress("ada"))["progress"]["{NAME}"])
    """)
    assert run(kit, "-c", script).split() == ['{"success":', "true}", "completed"]


def test_the_release_ships_its_vectors_and_not_its_reference(kit, tmp_path):
    student = tmp_path / "student"
    run(kit, "-m", "grader", "release", "--out", str(student), "--zip", str(tmp_path / "s.zip"))
    assert not (student / "solutions").exists()
    leaked = [p for p in student.rglob("*") if p.is_file() and MARK.encode() in p.read_bytes()]
    assert leaked == []
    names = run(student, "-c", "from grader.core.archive import read_cases\n"
                               "print(sorted(read_cases('grader/vectors/local.npz')))")
    assert f"'{NAME}'" in names
    assert f"{NAME} successfully passed local tests" in check_lines(student, RIGHT)
    assert f"{NAME} failed some local tests" in check_lines(student, WRONG)
