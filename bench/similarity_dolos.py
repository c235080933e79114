"""Dolos (``@dodona/dolos-lib``, node) on the labelled class, when it is installed.

Optional: ``npm install --prefix .venv/dolos @dodona/dolos-lib@3.5.1`` (node 18 or later; its
tree-sitter parsers build with python3 and a C++ compiler). Each graded function is one Dolos
analysis: one file per student holding that function's code as the kit extracts it, and the
course's code (stub notebook and ``Blocks.py``) as Dolos's ignored file. Dolos has no flag
threshold of its own (its web report lets the reader choose one); :data:`FLAG` is the kit's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from bench.kit import ROOT
from bench.settings import Settings

SECTION = "similarity"
PREFIX = ROOT / ".venv" / "dolos"
LIBRARY = PREFIX / "node_modules" / "@dodona" / "dolos-lib" / "dist" / "index.js"
FLAG = 0.75
TIMEOUT = 600
SCRIPT = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const job = JSON.parse(readFileSync(0, "utf-8"));
const { Dolos } = await import(pathToFileURL(job.library).href);
const found = [];
for (const group of job.groups) {
  const dolos = new Dolos({ language: "python" });
  const report = await dolos.analyzePaths(group.files, group.ignore);
  for (const pair of report.allPairs()) {
    found.push([group.function, pair.leftFile.path, pair.rightFile.path, pair.similarity]);
  }
}
process.stdout.write(JSON.stringify(found));
"""


def unavailable() -> str | None:
    """Why Dolos cannot run here, or None."""
    if shutil.which("node") is None:
        return "not run: node is not on PATH"
    if not LIBRARY.is_file():
        return f"not run: @dodona/dolos-lib is not installed ({LIBRARY} is missing)"
    return None


def scores(labelled: Path, students: dict, functions, settings: Settings):
    """``(scores, flagged)`` of Dolos on the class in ``labelled``, or None (skip recorded).

    Args:
        labelled: the class's folder (``<student>/assignment.ipynb``).
        students: the labelled class (only its names are used).
        functions: the graded functions compared.
        settings: where a skip is recorded.
    """
    why = unavailable()
    if why is not None:
        settings.skip(SECTION, "dolos", why)
        return None
    from bench.similarity import course_source, extracted_code
    from grader.classgrade.class_folder import discover
    code = extracted_code(discover(labelled)[0], functions)
    folder = labelled.parent / "dolos"
    folder.mkdir()
    ignore = folder / "course.py"
    ignore.write_text(course_source(), encoding="utf-8")
    groups = []
    for function in functions:
        (folder / function).mkdir(parents=True)
        files = []
        for who, texts in sorted(code.items()):
            if function in texts and who in students:
                path = folder / function / f"{who}.py"
                path.write_text(texts[function], encoding="utf-8")
                files.append(str(path))
        if len(files) > 1:
            groups.append({"function": function, "files": files, "ignore": str(ignore)})
    job = json.dumps({"library": str(LIBRARY), "groups": groups})
    try:
        done = subprocess.run(["node", "--input-type=module", "-e", SCRIPT], input=job,
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        settings.skip(SECTION, "dolos", f"not run: took more than {TIMEOUT} s")
        return None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        settings.skip(SECTION, "dolos", f"not run: node exited {done.returncode}: {last}")
        return None
    found = {(function, frozenset((Path(a).stem, Path(b).stem))): float(similarity)
             for function, a, b, similarity in json.loads(done.stdout)}
    return found, lambda s: s >= FLAG
