"""Finding submissions: both layouts; links, odd files and bad names listed as ignored;
files read only when they are the student's own; hashes over every byte."""

import os
from pathlib import Path

import pytest

from grader.classgrade.class_folder import discover, take_in
from grader.classgrade.hard_links import NameIndex
from grader.classgrade.submissions import (
    MAX_NOTEBOOKS,
    MAX_PY_FILES,
    Submission,
    read_regular_file,
)


def _make(root, layout):
    for path, text in layout.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@pytest.mark.parametrize("layout, want", [
    ({"alice/assignment.ipynb": "{}"}, ["alice"]),
    ({"bob.ipynb": "{}"}, ["bob"]),
    ({"alice/assignment.ipynb": "{}", "bob.ipynb": "{}", "notes.txt": ""}, ["alice", "bob"]),
    ({"carol/my_work.ipynb": "{}"}, ["carol"]),
    ({"dan/Blocks.py": "x = 1"}, ["dan"]),
    ({".hidden/assignment.ipynb": "{}"}, []),
])
def test_both_layouts_are_found(tmp_path, layout, want):
    _make(tmp_path, layout)
    submissions, skipped = discover(tmp_path)
    assert [s.username for s in submissions] == want
    assert skipped == []


def test_folder_submission_carries_its_py_files_but_not_links(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "alice/Blocks.py": "x = 1",
                     "alice/helpers.py": "y = 2", "secret.py": "z = 3"})
    os.symlink(tmp_path / "secret.py", tmp_path / "alice" / "stolen.py")
    [alice], _ = discover(tmp_path)
    assert [p.name for p in alice.py_files] == ["Blocks.py", "helpers.py"]


def test_bad_names_and_duplicates_are_skipped_with_a_reason(tmp_path):
    _make(tmp_path, {"bad name/assignment.ipynb": "{}", "eve/assignment.ipynb": "{}",
                     "eve.ipynb": "{}"})
    submissions, skipped = discover(tmp_path)
    assert [s.username for s in submissions] == ["eve"]
    assert any("not a valid username" in line for line in skipped)
    assert any("second submission of eve" in line for line in skipped)


def test_content_hash_changes_with_any_file(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "alice/Blocks.py": "x = 1"})
    [alice], _ = discover(tmp_path)
    before = alice.content_hash()
    assert alice.content_hash() == before
    (tmp_path / "alice" / "Blocks.py").write_text("x = 2")
    assert alice.content_hash() == before          # what is graded is the copy taken in
    [again], _ = discover(tmp_path)
    assert again.content_hash() != before


def test_what_is_graded_is_the_copy_taken_in(tmp_path):
    """A file swapped for a link to the solutions after intake changes nothing graded."""
    _make(tmp_path, {"subs/alice/assignment.ipynb": "{}", "kit/solutions.py": "SOLVED"})
    [alice], _ = discover(tmp_path / "subs")
    original = tmp_path / "subs" / "alice" / "assignment.ipynb"
    original.unlink()
    os.symlink(tmp_path / "kit" / "solutions.py", original)
    assert alice.notebook.read_text() == "{}" and not alice.notebook.is_relative_to(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="SUBMISSIONS=path"):
        discover(tmp_path / "nope")


def test_a_submission_with_nothing_is_still_a_submission():
    assert Submission("zoe", None).content_hash()


# -- links and odd files are listed as ignored, with why ------------------------------------------
def test_linked_submissions_are_listed_as_ignored(tmp_path):
    subs, elsewhere = tmp_path / "subs", tmp_path / "elsewhere"
    _make(elsewhere, {"mallory/assignment.ipynb": "{}", "other.ipynb": "{}"})
    _make(subs, {"alice/assignment.ipynb": "{}"})
    os.symlink(elsewhere / "mallory", subs / "mallory")
    os.symlink(elsewhere / "other.ipynb", subs / "trent.ipynb")
    os.symlink(elsewhere / "missing", subs / "dangling")
    submissions, skipped = discover(subs)
    assert [s.username for s in submissions] == ["alice"]
    assert skipped == [f"{name}: a symbolic link, skipped (only real folders and files are graded)"
                       for name in ("dangling", "mallory", "trent.ipynb")]


@pytest.mark.parametrize("make_link, want", [
    (lambda target, link: os.symlink(target, link), "a symbolic link"),
    (lambda target, link: os.link(target, link),
     "a hard link to a file that also has a name outside the submissions folder"),
    (lambda target, link: os.mkfifo(link), "not a regular file"),
])
def test_linked_files_in_a_folder_are_listed_as_ignored(tmp_path, make_link, want):
    _make(tmp_path, {"kit/solution.py": "SOLVED = True", "kit/other.ipynb": "{}",
                     "subs/alice/mine.py": "x = 1"})
    alice = tmp_path / "subs" / "alice"
    make_link(tmp_path / "kit" / "other.ipynb", alice / "assignment.ipynb")
    make_link(tmp_path / "kit" / "solution.py", alice / "helper.py")
    [submission], skipped = discover(tmp_path / "subs")
    assert (submission.notebook, [p.name for p in submission.py_files]) == (None, ["mine.py"])
    assert skipped == [f"alice/{name}: {want}, not used (only the student's own regular files "
                       "are graded)" for name in ("assignment.ipynb", "helper.py")]


def test_several_notebooks_are_all_kept_newest_first_and_too_many_py_files_reported(tmp_path):
    layout = {"bob/a.ipynb": "{}", "bob/b.ipynb": "{}"}
    layout.update({f"bob/m{i:02}.py": "" for i in range(MAX_PY_FILES + 2)})
    _make(tmp_path, layout)
    os.utime(tmp_path / "bob" / "a.ipynb", ns=(2 * 10**18, 2 * 10**18))   # a is the newer
    [bob], skipped = discover(tmp_path)
    assert (bob.notebook.name, [p.name for p in bob.other_notebooks]) == ("a.ipynb", ["b.ipynb"])
    assert len(bob.py_files) == MAX_PY_FILES
    assert skipped == [f"bob: {MAX_PY_FILES + 2} .py files, only the first {MAX_PY_FILES} by "
                       "name are used"]


def test_past_the_bound_the_oldest_notebooks_are_named_not_graded(tmp_path):
    _make(tmp_path, {f"bob/n{i}.ipynb": "{}" for i in range(MAX_NOTEBOOKS + 1)})
    for i in range(MAX_NOTEBOOKS + 1):
        os.utime(tmp_path / "bob" / f"n{i}.ipynb", ns=(i * 10**9, i * 10**9))
    intake = take_in(tmp_path)
    [bob] = intake.submissions
    assert bob.notebook.name == f"n{MAX_NOTEBOOKS}.ipynb" and "n0.ipynb" not in str(bob)
    assert intake.notes["bob"] == (f"{MAX_NOTEBOOKS + 1} notebooks: only the {MAX_NOTEBOOKS} "
                                   "newest are graded; not graded: n0.ipynb",)


def test_the_hash_of_one_notebook_is_as_before_and_several_count_every_one(tmp_path):
    _make(tmp_path, {"a/alice/assignment.ipynb": "{}", "b/alice/assignment.ipynb": "{}",
                     "b/alice/final.ipynb": "{}"})
    [one], _ = discover(tmp_path / "a")
    [two], _ = discover(tmp_path / "b")
    assert one.content_hash() == Submission("alice", one.notebook).content_hash()
    assert two.content_hash() != one.content_hash()


# -- read_regular_file: only the student's own regular file, checked on the opened file ----------
@pytest.mark.parametrize("make, want", [
    (lambda path, kit: path.write_bytes(b"mine"), b"mine"),
    (lambda path, kit: path.write_bytes(b"x" * 101), None),             # over the limit
    (lambda path, kit: os.symlink(kit, path), None),
    (lambda path, kit: os.link(kit, path), None),                        # the kit's solutions
    (lambda path, kit: os.mkfifo(path), None),                           # would block a read
    (lambda path, kit: path.mkdir(), None),
    (lambda path, kit: None, None),                                      # missing
])
def test_read_regular_file(tmp_path, make, want):
    kit = tmp_path / "solutions.py"
    kit.write_bytes(b"SOLVED")
    path = tmp_path / "helper.py"
    make(path, kit)
    assert read_regular_file(path, limit=100) == want


def test_read_regular_file_checks_the_file_it_opened(tmp_path, monkeypatch):
    """A file swapped for a hard link between a check and the open is still refused."""
    kit = tmp_path / "solutions.py"
    kit.write_bytes(b"SOLVED")
    path = tmp_path / "helper.py"
    path.write_bytes(b"mine")
    real_open = os.open

    def swapped_just_before_opening(name, flags, *args):
        if Path(name) == path:
            path.unlink()
            os.link(kit, path)
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", swapped_just_before_opening)
    assert read_regular_file(path) is None


# -- content_hash: every byte of every file ------------------------------------------------------
def test_content_hash_covers_all_of_a_big_file(tmp_path):
    big = 19 << 20  # the hash reads every byte, not a first part
    for name, last in (("a", b"1"), ("b", b"2")):
        folder = tmp_path / name / "alice"
        folder.mkdir(parents=True)
        with open(folder / "assignment.ipynb", "wb") as handle:
            handle.truncate(big)
            handle.seek(big - 1)
            handle.write(last)
    [first], _ = discover(tmp_path / "a")
    [second], _ = discover(tmp_path / "b")
    assert first.content_hash() != second.content_hash()


def test_a_notebook_past_the_size_limit_is_named_not_taken(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    with open(folder / "assignment.ipynb", "wb") as handle:
        handle.truncate(21 << 20)
    intake = take_in(tmp_path)
    assert intake.submissions[0].notebook is None
    assert intake.notes["alice"] == ("assignment.ipynb: bigger than 20 MB, not used (only the "
                                     "student's own regular files are graded)",)


def test_content_hash_of_an_unreadable_file_still_follows_its_changes(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "alice/Blocks.py": "x = 1"})
    [alice], _ = discover(tmp_path)
    [blocks] = alice.py_files
    blocks.unlink()
    os.mkfifo(blocks)  # swapped after discovery: cannot be read as a file
    gone = alice.content_hash()
    assert alice.content_hash() == gone
    os.utime(blocks, ns=(1, 10**18))
    assert alice.content_hash() != gone


def test_content_hash_of_a_file_name_that_is_not_utf8(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "assignment.ipynb").write_text("{}")
    (folder / os.fsdecode(b"caf\xe9.py")).write_text("x = 1")
    [alice], _ = discover(tmp_path)
    assert len(alice.py_files) == 1 and len(alice.content_hash()) == 64


def test_the_usual_layouts_carry_no_lms_id(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "bob.ipynb": "{}"})
    submissions, _ = discover(tmp_path, lms=None, roster={"x": None})
    assert [(s.username, s.lms_id) for s in submissions] == [("alice", ""), ("bob", "")]
    # an LMS download: tests/grader/test_lms.py


# -- hard links: inside the class, a shared file is graded for each; to outside, refused ---------
def test_a_classmate_linking_your_notebook_does_not_take_it_from_you(tmp_path):
    """The attack of issue 18.4: mallory hard-links alice's handed-in notebook into her own
    folder (a JupyterHub exchange). Alice keeps her notebook; both are told."""
    _make(tmp_path, {"alice/assignment.ipynb": '{"mine": "alice"}', "mallory/Blocks.py": ""})
    os.link(tmp_path / "alice" / "assignment.ipynb", tmp_path / "mallory" / "assignment.ipynb")
    intake = take_in(tmp_path)
    alice, mallory = intake.submissions
    assert alice.notebook.read_text() == mallory.notebook.read_text() == '{"mine": "alice"}'
    assert intake.notes["alice"] == ("assignment.ipynb: one file with mallory/assignment.ipynb "
                                     "(hard links inside the submissions folder); graded for "
                                     "each student whose folder holds it",)
    assert "one file with alice/assignment.ipynb" in intake.notes["mallory"][0]
    assert [line.split(":")[0] for line in intake.ignored] == ["alice/assignment.ipynb",
                                                               "mallory/assignment.ipynb"]


def test_a_flat_notebook_linked_to_a_classmates_is_shared_too(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}"})
    os.link(tmp_path / "alice" / "assignment.ipynb", tmp_path / "mallory.ipynb")
    intake = take_in(tmp_path)
    assert [(s.username, s.notebook.name) for s in intake.submissions] == [
        ("alice", "assignment.ipynb"), ("mallory", "mallory.ipynb")]


@pytest.mark.parametrize("where", ["outside", "outside, and a second name inside",
                                   "added outside after the walk"])
def test_a_hard_link_with_a_name_outside_is_refused(tmp_path, monkeypatch, where):
    _make(tmp_path, {"kit/solutions.py": "SOLVED", "subs/alice/assignment.ipynb": "{}"})
    secret, alice = tmp_path / "kit" / "solutions.py", tmp_path / "subs" / "alice"
    os.link(secret, alice / "helper.py")
    if "second name" in where:
        os.link(secret, alice / "again.py")
    if "after the walk" in where:
        secret.unlink()  # at the walk, both names are inside ...
        os.link(alice / "helper.py", tmp_path / "subs" / "alice" / "spare.txt")
        real_scan = NameIndex.scan

        def then_linked_outside(root, **kwargs):
            index = real_scan(root, **kwargs)
            os.link(alice / "helper.py", tmp_path / "kit" / "stolen.py")  # ... then one is not
            return index
        monkeypatch.setattr(NameIndex, "scan", staticmethod(then_linked_outside))
    intake = take_in(tmp_path / "subs")
    [submission] = intake.submissions
    assert submission.py_files == ()
    assert any(note.startswith("helper.py: a hard link to a file that also has a name outside")
               for note in intake.notes["alice"])


def test_a_name_past_the_walks_bound_counts_as_outside(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "bob/a/b/c/d.txt": ""})
    os.link(tmp_path / "alice" / "assignment.ipynb", tmp_path / "bob" / "a" / "b" / "c" / "x")
    index = NameIndex.scan(tmp_path, max_depth=3)
    info = os.stat(tmp_path / "alice" / "assignment.ipynb")
    assert not index.complete and not index.all_inside(info)
    assert NameIndex.scan(tmp_path).all_inside(info)
    assert not NameIndex.scan(tmp_path, max_entries=3).all_inside(info)


ALICE, MALLORY = 61_001, 61_002   # students' uids on a shared exchange (files chowned as root)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to students' uids needs root")
@pytest.mark.parametrize("where", ["outside the class", "deeper than the walk goes"])
def test_a_link_to_a_students_own_file_never_costs_the_student_it(tmp_path, where):
    """A red team's attack on the rule above: mallory links alice's notebook to a folder of
    her own outside the class, or buries a link deeper than the walk goes; alice's file then
    had a name the walk did not find, and alice got 0. It is alice's own file (her uid, in
    her folder): it is graded."""
    _make(tmp_path, {"subs/alice/assignment.ipynb": '{"mine": "alice"}',
                     "subs/mallory/" + "d/" * 9 + "keep.txt": "", "elsewhere/keep.txt": ""})
    alice = tmp_path / "subs" / "alice"
    for path in (alice, alice / "assignment.ipynb"):
        os.chown(path, ALICE, ALICE)
    stash = tmp_path / ("elsewhere" if "outside" in where else "subs/mallory/" + "d/" * 9)
    os.link(alice / "assignment.ipynb", stash / "stash.ipynb")
    intake = take_in(tmp_path / "subs")
    chosen = {s.username: s for s in intake.submissions}
    assert chosen["alice"].notebook.read_text() == '{"mine": "alice"}'
    assert any("has another name outside the submissions folder; graded as yours" in note
               for note in intake.notes["alice"]), intake.notes["alice"]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to students' uids needs root")
@pytest.mark.parametrize("owner", [0, MALLORY, "grader"])
def test_a_file_not_the_students_own_linked_from_outside_stays_refused(tmp_path, owner):
    """Root's secret, a classmate's file, or a file of the user grading (the kit's solutions):
    linked into alice's folder from outside, it is not alice's, and refused."""
    _make(tmp_path, {"kit/solutions.py": "SOLVED", "subs/alice/assignment.ipynb": "{}"})
    alice, secret = tmp_path / "subs" / "alice", tmp_path / "kit" / "solutions.py"
    os.chown(alice, ALICE, ALICE)
    os.chown(secret, os.geteuid() if owner == "grader" else owner, 0)
    os.link(secret, alice / "helper.py")
    [submission] = take_in(tmp_path / "subs").submissions
    assert submission.py_files == ()


def test_symbolic_links_stay_refused_inside_the_class_too(tmp_path):
    _make(tmp_path, {"alice/assignment.ipynb": "{}", "mallory/Blocks.py": ""})
    os.symlink(tmp_path / "alice" / "assignment.ipynb", tmp_path / "mallory" / "assignment.ipynb")
    intake = take_in(tmp_path)
    assert intake.submissions[1].notebook is None
    assert intake.notes["mallory"][0].startswith("assignment.ipynb: a symbolic link, not used")


def test_a_name_renamed_during_the_walk_is_not_counted_twice(tmp_path):
    """A red team's race: while the walk ran, the inside name of a root-only secret was renamed
    into a folder not yet walked, so it was recorded twice and the count matched st_nlink (2:
    one inside, one outside). The recorded names are looked at again when the file is read."""
    _make(tmp_path, {"kit/secret.ipynb": "{}", "subs/eve/d/keep.txt": ""})
    eve = tmp_path / "subs" / "eve"
    os.link(tmp_path / "kit" / "secret.ipynb", eve / "a2.ipynb")
    info = os.stat(eve / "a2.ipynb")
    raced = NameIndex(tmp_path / "subs", {(info.st_dev, info.st_ino): (eve / "a2.ipynb",
                                                                       eve / "d" / "a2.ipynb")})
    assert not raced.all_inside(info)
