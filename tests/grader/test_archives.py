"""Zipped submissions (issue 19.1): unpacked within bounds into the grader's own copy, what is
refused named in the student's notes, the submissions folder never written to."""

import hashlib
import io
import os
import stat
import zipfile

import pytest

from grader.classgrade import archives
from grader.classgrade.class_folder import take_in
from grader.classgrade.lms_downloads import read_download
from grader.client.roster import Student


def zip_bytes(members, *, compression=zipfile.ZIP_DEFLATED):
    """A zip of ``members``: ``{name: bytes}`` or ``{name: (bytes, mode)}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            data, mode = content if isinstance(content, tuple) else (content, 0o100644)
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def unpack(members) -> archives.Unpacked:
    return archives.unpack(io.BytesIO(zip_bytes(members)))


# -- one archive, member by member -----------------------------------------------------------------
def test_a_students_zipped_folder_is_flattened():
    got = unpack({"assignment/": b"", "assignment/assignment.ipynb": b"{}",
                  "assignment/Blocks.py": b"x = 1", "assignment/report.pdf": b"%PDF",
                  "__MACOSX/assignment/._assignment.ipynb": b"junk",
                  "assignment/.ipynb_checkpoints/assignment-checkpoint.ipynb": b"{}"})
    assert got.files == (("assignment.ipynb", b"{}"), ("Blocks.py", b"x = 1"))
    assert got.refused == ("assignment/report.pdf: not a notebook or .py file, not graded",)


@pytest.mark.parametrize("name, content, want", [
    ("../../evil.py", b"x", "its name leaves the folder it is unpacked into, refused"),
    ("/etc/evil.py", b"x", "its name leaves the folder it is unpacked into, refused"),
    ("C:/evil.py", b"x", "its name leaves the folder it is unpacked into, refused"),
    ("a\\..\\..\\evil.py", b"x", "its name leaves the folder it is unpacked into, refused"),
    ("link.py", (b"/etc/shadow", stat.S_IFLNK | 0o777), "a symbolic link stored in the archive"),
    ("fifo.py", (b"", stat.S_IFIFO | 0o644), "not a regular file, refused"),
    ("inner.zip", zip_bytes({"a.py": b"x"}), "an archive inside the archive, not unpacked"),
    ("a/b/c/d/e/f/g/deep.py", b"x", "deeper than 6 folders, refused"),
])
def test_members_that_are_refused_are_named(name, content, want):
    got = unpack({name: content, "Blocks.py": b"ok = 1"})
    assert got.files == (("Blocks.py", b"ok = 1"),)
    assert len(got.refused) == 1 and got.refused[0].startswith(name) and want in got.refused[0]


@pytest.mark.parametrize("system, attr", [(0, 0x20), (3, 0o600 << 16), (3, 0o100644 << 16)])
def test_members_from_windows_and_unix_tools_are_files(system, attr):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("Lab 3/assignment.ipynb")
        info.create_system, info.external_attr = system, attr
        archive.writestr(info, b"{}")
    assert archives.unpack(buffer).files == (("assignment.ipynb", b"{}"),)


def test_a_repeated_name_keeps_the_first():
    got = unpack({"v1/Blocks.py": b"first", "v2/Blocks.py": b"second"})
    assert got.files == (("Blocks.py", b"first"),)
    assert got.refused == ("v2/Blocks.py: a second file named Blocks.py in the archive, refused "
                           "(the first is used)",)


def test_a_zip_bomb_stops_at_the_bound(monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 1 << 20)
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 3 << 20)
    members = {f"m{i}.py": b"\0" * (900 << 10) for i in range(6)}
    members["huge.py"] = b"\0" * (5 << 20)
    got = unpack(members)
    assert [name for name, _ in got.files] == ["m0.py", "m1.py", "m2.py"]
    assert sum(len(data) for _, data in got.files) <= 3 << 20
    assert any("past the 3 MB an archive may hold" in line for line in got.refused)


def test_a_member_whose_header_lies_about_its_size_is_still_bounded(monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 1 << 20)
    data = bytearray(zip_bytes({"liar.py": b"\0" * (3 << 20)}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (100).to_bytes(4, "little")   # declared: 100 bytes
    got = archives.unpack(io.BytesIO(bytes(data)))
    assert all(len(content) <= 1 << 20 for _, content in got.files)


def test_too_many_members_reads_the_first(monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    got = unpack({f"m{i}.py": b"" for i in range(8)})
    assert len(got.files) == 5 and got.refused[0] == "only the first 5 of its 8 entries are read"


def test_what_is_not_a_zip_says_so():
    with pytest.raises(ValueError, match="not a zip archive that can be read"):
        archives.unpack(io.BytesIO(b"PK\x03\x04 not really"))


# -- in a class: every layout, the submissions folder untouched ----------------------------------
def _tree(folder):
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            if path.is_file() else "dir" for path in sorted(folder.rglob("*"))}


def test_zips_in_both_plain_layouts_are_unpacked_and_the_folder_never_written(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "work.zip").write_bytes(zip_bytes({
        "work/assignment.ipynb": b"{}", "work/Blocks.py": b"x = 1", "../../escape.py": b"x"}))
    (tmp_path / "bob.zip").write_bytes(zip_bytes({"assignment.ipynb": b"{}"}))
    (tmp_path / "carl.zip").write_bytes(b"not a zip")
    before = _tree(tmp_path)
    intake = take_in(tmp_path)
    assert _tree(tmp_path) == before
    assert [(s.username, s.notebook.name, [p.name for p in s.py_files])
            for s in intake.submissions] == [("alice", "assignment.ipynb", ["Blocks.py"]),
                                             ("bob", "assignment.ipynb", [])]
    assert intake.notes["alice"] == ("work.zip: ../../escape.py: its name leaves the folder it is "
                                     "unpacked into, refused",)
    assert "carl.zip: not a zip archive that can be read" in intake.ignored[-1]


def test_a_loose_file_wins_over_the_same_name_in_an_archive(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "assignment.ipynb").write_text('{"loose": 1}')
    (tmp_path / "alice" / "all.zip").write_bytes(zip_bytes({"assignment.ipynb": b"{}"}))
    intake = take_in(tmp_path)
    assert intake.submissions[0].notebook.read_text() == '{"loose": 1}'
    assert intake.notes["alice"] == ("all.zip: assignment.ipynb: a file of that name was handed "
                                     "in beside the archive, which is used",)


ROSTER = {"ada": Student("ada", "Ada Lovelace", canvas_id="101", moodle_id="7001")}


@pytest.mark.parametrize("lms, name", [
    ("canvas", "lovelaceada_101_5001_assignment.zip"),
    ("canvas", "lovelaceada_LATE_101_5001_assignment-1.zip"),
    ("moodle", "Ada Lovelace_7001_assignsubmission_file_/handin.zip"),
    ("moodle", "Ada Lovelace_7001_assignsubmission_file_handin.zip"),
    ("brightspace", "1-2 - Ada Lovelace - Oct 10, 2025 1022 AM/handin.zip"),
    ("brightspace", "1-2 - Ada Lovelace - Oct 10, 2025 1022 AM - handin.zip"),
])
def test_a_zip_in_each_lms_download_is_unpacked(tmp_path, lms, name):
    path = tmp_path / "dl" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(zip_bytes({"Lab3/assignment.ipynb": b"{}", "Lab3/Blocks.py": b"x = 1"}))
    before = _tree(tmp_path / "dl")
    [ada] = read_download(tmp_path / "dl", lms=lms, roster=ROSTER).submissions
    assert (ada.notebook.name, [p.name for p in ada.py_files]) == ("assignment.ipynb", ["Blocks.py"])
    assert _tree(tmp_path / "dl") == before and not ada.notebook.is_relative_to(tmp_path)


def test_a_zip_hard_linked_outside_is_refused_like_any_file(tmp_path):
    secret = tmp_path / "solutions.zip"
    secret.write_bytes(zip_bytes({"assignment.ipynb": b"SOLVED"}))
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    os.link(secret, tmp_path / "subs" / "alice" / "work.zip")
    intake = take_in(tmp_path / "subs")
    assert intake.submissions[0].notebook is None
    assert "a hard link to a file that also has a name outside" in intake.notes["alice"][0]
