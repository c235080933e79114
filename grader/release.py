"""``make release``: the student kit, with no solutions in it.

The kit holds the stub notebook (no outputs), the student-facing modules, the
grader's client code, precomputed test vectors instead of the references, the
MNIST sample and the images. A leak check runs on every build: a kit that
contains reference code, a ``solutions`` import, a solved cell, a gradebook or
notebook outputs is refused.
"""

from __future__ import annotations

import ast
import inspect
import shutil
import zipfile
from pathlib import Path

from grader import notebook as nb
from grader import paths, vectors
from grader.tasks import TASKS

ROOT = paths.KIT_ROOT
STUDENT_FILES = ("Blocks.py", "dataset_utils.py", "gradient_check.py", "automark.py")
STUDENT_FOLDERS = ("images", "data/mnist-sample")
CLIENT_MODULES = ("__init__.py", "automark_api.py", "calling.py", "cases.py", "checking.py",
                  "compare.py", "inputs.py", "messages.py", "paths.py", "progress.py",
                  "results.py", "roster.py", "tasks.py", "vectors.py")
FORBIDDEN_NAMES = {"solutions", "examples", "grading", "progress", "tests", ".venv", "build",
                   "references.py", "mistakes.py", "__pycache__"}
STUDENT_REQUIREMENTS = ("numpy", "matplotlib", "notebook", "ipykernel")
STUDENT_README = """# Convolutional neural networks in NumPy: your assignment kit

## Start

```bash
python3 -m venv .venv && . .venv/bin/activate     # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
jupyter notebook assignment.ipynb
```

## Check a function

Set `username` in the first cell, write a function in its `### YOUR CODE ###` cell, run the cell,
then run the check cell below it:

```python
am.test_student_function(username, conv_matrix, ["matrix", "kernel"])
```

*Local tests* show each failing case: its input shapes, the expected and the obtained shape,
the largest error and where it is, or the exception with your own line. The *remote test* runs
cases you do not see. A function is `completed` when the remote test passes.

## See your progress

```python
am.get_progress(username)
```

prints a table of every function, `[MAN]` mandatory and `[OPT]` optional, with its state:
`not attempted`, `attempted` or `completed`. Progress is kept in `progress/<username>.json`.

## Data

The kit ships a small sample of real MNIST digits (zeros and ones) in `data/mnist-sample/`,
enough for the experiments. To use the full data set, put the four MNIST files in `data/mnist/`
or set `MNIST_DIR`; the notebook says which one it uses.
"""


def _requirements() -> str:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower()] = version.strip()
    missing = [name for name in STUDENT_REQUIREMENTS if name not in pins]
    if missing:
        raise ValueError(f"requirements-lock.txt does not pin {missing}: add them")
    return "".join(f"{name}=={pins[name]}\n" for name in STUDENT_REQUIREMENTS)


def _clean_notebook(source: Path, target: Path) -> None:
    import nbformat
    notebook = nb.load_notebook(source)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, str(target))


def build_student_kit(out_dir, *, zip_path=None) -> list[str]:
    """Build the student kit into ``out_dir`` (replaced) and optionally zip it.

    Returns:
        The leak check's findings (empty: the kit is clean).

    Raises:
        ValueError: when the leak check finds anything; the folder is left for inspection.
    """
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    (out / "grader" / "vectors").mkdir(parents=True)
    _clean_notebook(ROOT / "assignment.ipynb", out / "assignment.ipynb")
    for name in STUDENT_FILES:
        shutil.copyfile(ROOT / name, out / name)
    for folder in STUDENT_FOLDERS:
        shutil.copytree(ROOT / folder, out / folder)
    for module in CLIENT_MODULES:
        shutil.copyfile(ROOT / "grader" / module, out / "grader" / module)
    for phase, name in vectors.PHASE_FILES.items():
        vectors.write_vectors(out / "grader" / "vectors" / name, TASKS, phase=phase)
    (out / "README.md").write_text(STUDENT_README)
    (out / "requirements.txt").write_text(_requirements())
    leaks = find_leaks(out)
    if leaks:
        raise ValueError("the student kit leaks:\n  " + "\n  ".join(leaks))
    if zip_path is not None:
        write_zip(out, Path(zip_path))
    return leaks


def write_zip(folder: Path, zip_path: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, top folder ``student/``."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"student/{path.relative_to(folder).as_posix()}",
                                   date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _reference_fingerprints() -> set[str]:
    """Distinctive code lines of every reference, except lines Blocks.py shows anyway."""
    import solutions
    public = {line.strip() for line in (ROOT / "Blocks.py").read_text().splitlines()}
    prints = set()
    for name in solutions.__all__:
        function = ast.parse(inspect.getsource(getattr(solutions, name))).body[0]
        body = function.body[1:] if ast.get_docstring(function) else function.body
        for statement in body:
            for line in ast.unparse(statement).splitlines():
                line = line.strip()
                if len(line) >= 24 and not line.startswith(("#", "raise ", "if ", "for ")) \
                        and line not in public:
                    prints.add(line)
    return prints


def _normalised_code(path: Path) -> set[str]:
    """Code lines of a .py file or a notebook's code cells, as ast.unparse writes them."""
    if path.suffix == ".ipynb":
        sources = [source for _, source in nb.code_cells(nb.load_notebook(path))]
    else:
        sources = [path.read_text(encoding="utf-8", errors="replace")]
    lines = set()
    for source in sources:
        try:
            tree = ast.parse(nb.python_source(source))
        except SyntaxError:
            lines |= {line.strip() for line in source.splitlines()}
            continue
        lines |= {line.strip() for line in ast.unparse(tree).splitlines()}
    return lines


def find_leaks(folder) -> list[str]:
    """Everything in ``folder`` a student must not get; empty when clean."""
    folder = Path(folder)
    findings = []
    fingerprints = _reference_fingerprints()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if FORBIDDEN_NAMES & set(relative.parts):
            findings.append(f"{relative}: not part of a student kit")
            continue
        if path.suffix in (".sqlite", ".db") or path.name == "gradebook.csv":
            findings.append(f"{relative}: a gradebook")
        if path.suffix not in (".py", ".ipynb") or not path.is_file():
            continue
        code = _normalised_code(path)
        imports = [line for line in code if line.startswith(("import solutions", "from solutions"))]
        findings += [f"{relative}: imports the references ({line})" for line in imports]
        findings += [f"{relative}: contains reference code: {line}"
                     for line in sorted(code & fingerprints)]
    notebook_path = folder / "assignment.ipynb"
    if notebook_path.is_file():
        findings += _notebook_leaks(notebook_path)
    else:
        findings.append("assignment.ipynb is missing")
    return findings


def _notebook_leaks(path: Path) -> list[str]:
    notebook = nb.load_notebook(path)
    findings = [f"assignment.ipynb cell {i}: has outputs" for i, cell in enumerate(notebook.cells)
                if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    stubs = nb.stub_cells(notebook)
    for task in TASKS:
        if task.week == 3 and task.name not in stubs:
            findings.append(f"assignment.ipynb: {task.name} is not a stub (a solved cell?)")
    return findings
