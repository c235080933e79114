"""A messy class graded in the sandbox, end to end: a classmate's hard link, a zipped folder,
a stub beside the finished notebook, a Canvas download with an impostor, an ambiguous name,
a re-upload and a zip. Every file is graded or named in the report and the feedback."""

import io
import os
import zipfile
from pathlib import Path

import pytest

from grader.classgrade.run import grade_class
from grader.classgrade.sandbox.limits import Limits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "submissions"
CORRECT = (EXAMPLES / "ada_correct" / "assignment.ipynb").read_bytes()
STUB = (EXAMPLES / "ivy_untouched" / "assignment.ipynb").read_bytes()
FAST = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=120)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def grade(folder, out, **kwargs):
    run = grade_class(submissions_dir=folder, out_dir=out, jobs=2, task_names=["conv_matrix"],
                      limits=FAST, log=open(os.devnull, "w"), **kwargs)
    return run, {name: result.tasks[0].passed for name, result in run.results.items()}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    folder = write(root / "subs", {
        "alice/assignment.ipynb": CORRECT,                       # the victim
        "mallory/Blocks.py": b"",
        "zed/handin.zip": zipped({"Lab 3/assignment.ipynb": CORRECT, "../evil.py": b"x",
                                  "__MACOSX/Lab 3/._assignment.ipynb": b"junk"}),
        "kim/assignment.ipynb": STUB,                            # the stub, newer ...
        "kim/assignment_final.ipynb": CORRECT,                   # ... than the finished one
        "kim/notes.docx": b"",
        "Zoë.ipynb": CORRECT})                                   # not a username
    os.utime(folder / "kim" / "assignment_final.ipynb", ns=(10**18, 10**18))
    os.link(folder / "alice" / "assignment.ipynb", folder / "mallory" / "assignment.ipynb")
    out = root / "out"
    return (*grade(folder, out), out)


def test_the_victim_of_a_hard_link_keeps_full_marks(plain):
    _, passed, out = plain
    assert passed["alice"] is True and passed["mallory"] is True
    for who, other in (("alice", "mallory"), ("mallory", "alice")):
        feedback = (out / "feedback" / f"{who}.md").read_text(encoding="utf-8")
        assert f"one file with {other}/assignment.ipynb" in feedback
    assert "one file with mallory/assignment.ipynb" in (out / "report.html").read_text()


def test_a_zipped_folder_is_graded_and_what_it_refused_named(plain):
    _, passed, out = plain
    assert passed["zed"] is True
    assert "../evil.py: its name leaves the folder" in (out / "feedback" / "zed.md").read_text()


def test_the_finished_notebook_beats_the_newer_stub_and_both_are_named(plain):
    run, passed, out = plain
    assert passed["kim"] is True
    feedback = (out / "feedback" / "kim.md").read_text(encoding="utf-8")
    assert "notebook graded: assignment_final.ipynb (1 of 1 functions passed)" in feedback
    assert "assignment.ipynb (0 of 1 functions passed)" in feedback
    assert "notes.docx: not a notebook" in feedback
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "kim: assignment_final.ipynb (1 of 1 functions passed)" in report
    assert any("Zoë.ipynb: not a valid username" in line for line in run.ignored)
    assert "Zoë.ipynb: not a valid username" in report


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    root = tmp_path_factory.mktemp("canvas")
    folder = write(root / "download", {
        "lovelaceada_101_5001_assignment.ipynb": CORRECT,        # the victim, by id
        "lovelaceada_666_6001_assignment.ipynb": STUB,           # another user, same name
        "okriben_102_5002_assignment.ipynb": CORRECT,            # two users match ben by name
        "okriben_LATE_103_5003_assignment.ipynb": STUB,
        "twomblycy_104_5004_submission.zip": zipped({"work/assignment.ipynb": CORRECT}),
        "deedee_105_5005_assignment-1.ipynb": CORRECT,           # uploaded again
        "stranger_999_9_assignment.ipynb": CORRECT})
    write(root, {"students.csv": "username,name,email,canvas_id\nada,Ada Lovelace,,101\n"
                                 "ben,Ben Okri,,\ncy,Cy Twombly,,\ndee,Dee Dee,,\n".encode()})
    out = root / "out"
    return (*grade(folder, out, lms="canvas", roster_path=root / "students.csv"), out)


def test_canvas_an_id_beats_a_name_and_a_zip_is_graded(canvas):
    run, passed, out = canvas
    assert passed == {"ada": True, "cy": True, "dee": True}
    report = (out / "report.html").read_text(encoding="utf-8")
    for name in ("lovelaceada_666_6001_assignment.ipynb", "okriben_102_5002_assignment.ipynb",
                 "okriben_LATE_103_5003_assignment.ipynb", "stranger_999_9_assignment.ipynb"):
        assert name in report and any(name in line for line in run.ignored)
    ben = (out / "feedback" / "ben.md").read_text(encoding="utf-8")
    assert "not graded: 2 canvas entries match your name" in ben
    assert "No submission was received." in ben
