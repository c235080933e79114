"""Finding submissions: both layouts, links and bad names skipped, stable hashes."""

import os

import pytest

from grader.classgrade.submissions import Submission, discover


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
    assert alice.content_hash() != before


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="SUBMISSIONS=path"):
        discover(tmp_path / "nope")


def test_a_submission_with_nothing_is_still_a_submission():
    assert Submission("zoe", None).content_hash()
