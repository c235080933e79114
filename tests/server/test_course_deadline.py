"""grader/server/course_deadline.py: which deadline and policy serve and export use, and the
start-up checks that come with it (a port in use, add-users into a new database, a class list
without the extension column)."""

import socket
import subprocess
import sys
from dataclasses import dataclass

import pytest
from server_fixtures import ROOT

from grader.client.roster import Student
from grader.server import course_deadline
from grader.server.course_deadline import in_force
from grader.server.run import check_port_free
from grader.server.store import ServerStore

DL, OTHER = "2026-12-11T23:59+01:00", "2026-12-18T23:59+01:00"


@dataclass(frozen=True)
class CourseFile:
    deadline: str = ""
    late_policy: str = ""


@pytest.mark.parametrize("flags, kept, course, want, notes", [
    # nothing anywhere: no deadline, the default policy
    ((None, None), {}, CourseFile(), ("", "ignore", "none"), []),
    # course.toml alone (a new database)
    ((None, None), {}, CourseFile(DL, "ignore"), (DL, "ignore", "course.toml"), []),
    # what the server last ran with wins over course.toml, and the difference is said
    ((None, None), {"deadline": OTHER, "late_policy": "penalty:10%/day"}, CourseFile(DL, "ignore"),
     (OTHER, "penalty:10%/day", "the server's database"), ["course.toml's deadline"]),
    # the same moment written another way is no difference
    ((None, None), {"deadline": "2026-12-11T22:59Z", "late_policy": "count"}, CourseFile(DL),
     ("2026-12-11T22:59Z", "count", "the server's database"), []),
    # a start without a deadline recorded none: course.toml's applies, with its policy, said
    ((None, None), {"deadline": "", "late_policy": "count"}, CourseFile(DL, "ignore"),
     (DL, "ignore", "course.toml"), ["the server last ran without a deadline"]),
    # the same deadline repeated: the policy it ran with, not course.toml's (a red team's)
    ((DL, None), {"deadline": DL, "late_policy": "count"}, CourseFile(DL, "penalty:10%/day"),
     (DL, "count", "--deadline"), []),
    # a policy that changes for the same deadline is said
    ((DL, "ignore"), {"deadline": DL, "late_policy": "count"}, CourseFile(),
     (DL, "ignore", "--deadline"), ["the late policy changes from count"]),
    # the flags win, and a change from what the server ran with is said
    ((OTHER, "count"), {"deadline": DL, "late_policy": "ignore"}, CourseFile(),
     (OTHER, "count", "--deadline"), ["the deadline changes from"]),
    # --deadline '' is no deadline, whatever is recorded
    (("", None), {"deadline": DL, "late_policy": "ignore"}, CourseFile(DL),
     ("", "ignore", "none"), ["the deadline changes from"]),
    # a policy flag without any deadline does nothing, and says so
    ((None, "ignore"), {}, CourseFile(), ("", "ignore", "none"), ["has no effect"]),
])
def test_the_deadline_comes_from_the_first_place_that_has_one(flags, kept, course, want, notes):
    chosen = in_force(deadline_flag=flags[0], policy_flag=flags[1], recorded=kept, course=course)
    assert (chosen.deadline, chosen.late_policy, chosen.source) == want
    assert len(chosen.notes) == len(notes)
    assert all(note in line for note, line in zip(notes, chosen.notes))


@pytest.mark.parametrize("flags, kept, course, want", [
    (("2026-12-11", None), {}, CourseFile(), "came from --deadline"),
    ((None, None), {}, CourseFile("2026-12-11T23:59"), "came from course.toml"),
    ((None, "late"), {"deadline": DL}, CourseFile(), "came from the server's database"),
])
def test_a_bad_value_names_where_it_came_from(flags, kept, course, want):
    with pytest.raises(ValueError, match=want):
        in_force(deadline_flag=flags[0], policy_flag=flags[1], recorded=kept, course=course)


def test_the_database_keeps_what_the_server_started_with(tmp_path):
    assert course_deadline.recorded(tmp_path / "none") == {}          # and creates nothing
    assert not (tmp_path / "none").exists()
    with ServerStore(tmp_path / "data" / "server.sqlite") as store:
        store.record_course_settings(deadline=DL, late_policy="ignore", now=1.0)
        store.record_course_settings(deadline=OTHER, late_policy="count", now=2.0)
    assert course_deadline.recorded(tmp_path / "data") == {"deadline": OTHER,
                                                           "late_policy": "count"}


@pytest.mark.parametrize("now, warned", [(0.0, True), (4e9, False)])
def test_an_export_before_the_deadline_is_said_to_be_not_final(now, warned):
    assert bool(course_deadline.not_yet_passed(DL, now)) is warned
    assert course_deadline.not_yet_passed("", now) == ""


def test_a_port_in_use_is_refused_before_anything_is_written():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            check_port_free("127.0.0.1", port)


def test_serve_on_a_port_in_use_imports_no_roster(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("username,name,email\nzed,Zed,\n", encoding="utf-8")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        done = subprocess.run([sys.executable, "-m", "grader", "serve", "--port",
                               str(holder.getsockname()[1]), "--roster", str(roster), "--data",
                               str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("Error: cannot listen on")
    assert not (tmp_path / "data" / "server.sqlite").exists()


def add_users(tmp_path, text: str) -> subprocess.CompletedProcess:
    roster = tmp_path / "students.csv"
    roster.write_text(text, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "grader", "server", "add-users", str(roster),
                           "--data", str(tmp_path / "data")], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_a_class_list_without_the_extension_column_keeps_the_extensions(tmp_path):
    """Re-importing the LMS's class list to add a late joiner cleared every extension."""
    first = add_users(tmp_path, "username,name,email,extension\nada,Ada,,3d\nbob,Bob,,\n")
    assert "Warning: there was no server database" in first.stderr     # a new one: said
    again = add_users(tmp_path, "username,name,email\nada,Ada L.,\nbob,Bob,\ncy,Cy,\n")
    assert again.returncode == 0 and "extensions already granted are kept" in again.stdout
    assert "no server database" not in again.stderr
    with ServerStore(tmp_path / "data" / "server.sqlite") as store:
        rows = store.db.execute("SELECT username, name, extension FROM users ORDER BY username")
        assert rows.fetchall() == [("ada", "Ada L.", "3d"), ("bob", "Bob", ""), ("cy", "Cy", "")]
    cleared = add_users(tmp_path, "username,extension\nada,\n")        # an empty cell clears
    assert cleared.returncode == 0
    with ServerStore(tmp_path / "data" / "server.sqlite") as store:
        assert store.db.execute("SELECT name, extension FROM users WHERE username = 'ada'"
                                ).fetchone() == ("Ada L.", "")      # no name column: kept


def test_the_store_updates_only_the_fields_asked(tmp_path):
    with ServerStore(tmp_path / "s.sqlite") as store:
        store.add_users([Student("ada", "Ada", "a@x.org", extension="2d")], now=0)
        store.add_users([Student("ada", "", "", extension="")], now=1, update=())
        store.add_users([Student("ada", "Ada L.", "", extension="")], now=2, update=["name"])
        assert store.db.execute("SELECT name, email, extension, added_at FROM users").fetchone() \
            == ("Ada L.", "a@x.org", "2d", 0)


def test_a_worker_started_again_does_not_undo_add_users(tmp_path):
    """Every worker imported the start-up roster: one that uvicorn started again after a crash
    put back the extensions of that file, undoing every add-users since (a red team's)."""
    import os
    import signal
    import time

    import requests
    from server_fixtures import Server
    (tmp_path / "old.csv").write_text("username,name,email,extension\nbob,Bob,,3d\n")
    (tmp_path / "new.csv").write_text("username,name,email,extension\nbob,Bob,,7d\n")
    server = Server(tmp_path, ["--roster", str(tmp_path / "old.csv"), "--workers", "2"]).start()
    try:
        assert add_users_file(tmp_path, "new.csv").returncode == 0
        workers = [int(pid) for pid in subprocess.run(
            ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True
        ).stdout.split()]
        os.kill(max(workers), signal.SIGKILL)           # uvicorn starts another one
        started = server.log().count("Application startup complete")
        deadline = time.monotonic() + 60
        while server.log().count("Application startup complete") == started:   # the new one
            assert time.monotonic() < deadline, server.log()[-2000:]
            time.sleep(0.2)
        assert requests.get(server.url + "check_sum/x", timeout=10).ok
        with ServerStore(server.database) as store:
            assert store.db.execute("SELECT extension FROM users WHERE username = 'bob'"
                                    ).fetchone() == ("7d",)
    finally:
        server.stop()


def add_users_file(tmp_path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", "server", "add-users",
                           str(tmp_path / name), "--data", str(tmp_path / "data")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_a_second_server_on_the_same_data_folder_is_refused(tmp_path):
    """Two servers on one --data (two ports) both wrote the same database, and the second one's
    deadline replaced the first's while the first still ran with its own (a red team's)."""
    from server_fixtures import Server, free_port
    (tmp_path / "r.csv").write_text("username,name,email\nada,Ada,\n")
    first = Server(tmp_path, ["--roster", str(tmp_path / "r.csv"), "--deadline", DL]).start()
    try:
        done = subprocess.run([sys.executable, "-m", "grader", "serve", "--port", str(free_port()),
                               "--data", str(tmp_path / "data"), "--deadline", OTHER], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert done.stderr.startswith(f"Error: another server runs on {tmp_path / 'data'}")
        assert course_deadline.recorded(tmp_path / "data")["deadline"] == DL
    finally:
        first.stop()
    again = Server(tmp_path, ["--roster", "", "--deadline", OTHER]).start()   # once it stopped
    again.stop()
    assert course_deadline.recorded(tmp_path / "data")["deadline"] == OTHER


def test_an_extension_before_the_course_deadline_is_named_and_never_shortens(tmp_path):
    """A year typo in a roster's extension cell made a right answer "352 days late" without a
    word (a red team's): the course's deadline applies, and export and serve say whose cell."""
    assert add_users(tmp_path, "username,name,email,extension\nada,Ada,,2025-12-20T12:00+01:00\n"
                               "bob,Bob,,3d\n").returncode == 0
    done = subprocess.run([sys.executable, "-m", "grader", "server", "export", "--data",
                           str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--deadline",
                           DL], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert ("Warning: ada's extension 2025-12-20T12:00+01:00 is before the course's deadline "
            f"{DL}: the course's deadline applies") in done.stderr
    assert "bob's extension" not in done.stderr
