"""Deadlines on the server: extensions from the roster, every attempt timed by the server's
clock and never refused for lateness, late read (not stored) against each student's own deadline.
"""

import json
import sqlite3
import urllib.parse

import pytest

from grader.cli import main
from grader.client.roster import Student, read_roster
from grader.core.deadlines import DAY_SECONDS, parse_deadline
from grader.core.tasks import get_task
from grader.server import cases
from grader.server.deadlines import attempts, late_counts, own_deadlines
from grader.server.run import add_users, describe
from grader.server.schema import MIGRATIONS, statements
from grader.server.service import AutoMarkService
from grader.server.settings import ServerSettings
from grader.server.store import APPLICATION_ID, SCHEMA_VERSION, ServerStore

DEADLINE_TEXT = "2026-12-11T23:59+01:00"
DEADLINE = parse_deadline(DEADLINE_TEXT)
TASK = get_task("conv_matrix")
ROSTER = ("username,name,email,extension\n"
          "ada,Ada,,\n"
          "bob,Bob,,3d\n"
          "cy,Cy,,2026-12-20T12:00+01:00\n")


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def right_answer(service: AutoMarkService, username: str) -> tuple[str, bytes]:
    """``(ipd, answer segment)`` of a right answer to a fresh hidden input."""
    sent = json.loads(service.get_test_input(username, TASK.name))
    _, expected = cases.expected_output(TASK, json.dumps(sent["input"]))
    return str(sent["ipd"]), urllib.parse.quote(json.dumps(expected.tolist())).encode()


@pytest.fixture
def served(tmp_path):
    """A store with the roster above and a service whose clock the test sets."""
    (tmp_path / "students.csv").write_text(ROSTER, encoding="utf-8")
    add_users(tmp_path / "students.csv", data=str(tmp_path))
    with ServerStore(tmp_path / "server.sqlite") as store:
        clock = Clock(DEADLINE - 60)
        yield store, AutoMarkService(store, cases.build_local_tests([TASK]),
                                     rate_limit_seconds=0, tasks=[TASK], clock=clock), clock


def test_add_users_stores_each_students_extension(served, tmp_path):
    store, _, _ = served
    extensions = dict(store.db.execute("SELECT username, extension FROM users"))
    assert extensions == {"ada": "", "bob": "3d", "cy": "2026-12-20T12:00+01:00"}
    (tmp_path / "students.csv").write_text("username,name,email,extension\nada,Ada,,1d\n",
                                           encoding="utf-8")
    add_users(tmp_path / "students.csv", data=str(tmp_path))   # granted later: updated
    assert store.db.execute("SELECT extension FROM users WHERE username = 'ada'").fetchone() == ("1d",)


@pytest.mark.parametrize("cell, want_extension, want_problem", [
    ("3d", "3d", ""),
    ("", "", ""),
    ("next week", "", "extension 'next week' is neither a number of days"),
    ("2026-12-20T12:00", "", "has no UTC offset"),
])
def test_a_bad_extension_keeps_the_student_with_the_courses_deadline(tmp_path, cell, want_extension,
                                                                       want_problem):
    path = tmp_path / "students.csv"
    path.write_text(f"username,extension\nada,{cell}\n", encoding="utf-8")
    roster = read_roster(path)
    assert roster.students["ada"].extension == want_extension
    assert (want_problem in " ".join(roster.problems)) and bool(roster.problems) == bool(want_problem)


@pytest.mark.parametrize("at, want_late", [
    (DEADLINE - 60, False), (DEADLINE, False), (DEADLINE + 1, True), (DEADLINE + 9 * DAY_SECONDS, True),
])
def test_every_attempt_is_judged_and_timed_by_the_servers_clock_however_late(served, at, want_late):
    store, service, clock = served
    clock.now = at
    ipd, answer = right_answer(service, "ada")
    assert service.check_answer("ada", TASK.name, ipd, answer) == '{"success": true}'  # never refused
    assert store.db.execute("SELECT at, success FROM attempts").fetchall() == [(at, 1)]
    assert store.progress("ada") == {TASK.name: "completed"}     # what the student sees: unchanged
    [attempt] = attempts(store, DEADLINE)
    assert (attempt.at, attempt.late) == (at, want_late)


@pytest.mark.parametrize("username, after_course_deadline, want_late", [
    ("ada", 3600, True),
    ("bob", 3600, False),                          # 3 days more
    ("bob", 3 * DAY_SECONDS + 1, True),
    ("cy", 8 * DAY_SECONDS, False),                # a deadline of their own: 20 Dec, noon
    ("cy", 9 * DAY_SECONDS, True),
])
def test_late_is_read_against_the_students_own_deadline(served, username, after_course_deadline,
                                                        want_late):
    store, service, clock = served
    clock.now = DEADLINE + after_course_deadline
    ipd, answer = right_answer(service, username)
    service.check_answer(username, TASK.name, ipd, answer)
    assert [a.late for a in attempts(store, DEADLINE, username=username)] == [want_late]
    assert late_counts(store, DEADLINE) == ({username: 1} if want_late else {})


def test_late_is_derived_so_moving_a_deadline_rewrites_nothing(served):
    store, service, clock = served
    clock.now = DEADLINE + 3600
    ipd, answer = right_answer(service, "ada")
    service.check_answer("ada", TASK.name, ipd, answer)
    before = store.db.execute("SELECT * FROM attempts").fetchall()
    assert late_counts(store, DEADLINE) == {"ada": 1}
    assert late_counts(store, DEADLINE + DAY_SECONDS) == {}        # the deadline moved a day
    assert late_counts(store, None) == {}                          # no deadline at all
    store.add_users([Student("ada", "Ada", extension="1d")], now=0)  # an extension granted
    assert late_counts(store, DEADLINE) == {}
    assert store.db.execute("SELECT * FROM attempts").fetchall() == before


def test_own_deadlines(served):
    store, _, _ = served
    assert own_deadlines(store, DEADLINE) == {
        "ada": DEADLINE, "bob": DEADLINE + 3 * DAY_SECONDS,
        "cy": parse_deadline("2026-12-20T12:00+01:00")}
    assert own_deadlines(store, None) == {"ada": None, "bob": None,
                                          "cy": parse_deadline("2026-12-20T12:00+01:00")}


def version_3_file(path) -> None:
    """A database as schema version 3 left it: users without extensions, an attempt."""
    db = sqlite3.connect(path, isolation_level=None)
    for version in (1, 2, 3):
        for statement in statements(MIGRATIONS[version]):
            db.execute(statement)
    db.execute("INSERT INTO users VALUES ('ada', 'Ada', 'ada@example.org', 0)")
    db.execute("INSERT INTO attempts (username, function, ipd, at, success, verdict) "
               "VALUES ('ada', 'conv_matrix', 7, 1e9, 1, 'ok')")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 3")
    db.close()


def test_a_version_3_file_is_migrated_in_place(tmp_path):
    version_3_file(tmp_path / "old.sqlite")
    with ServerStore(tmp_path / "old.sqlite") as store:
        assert SCHEMA_VERSION == 5
        assert store.db.execute("PRAGMA user_version").fetchone() == (5,)
        assert store.course_settings() == {}                         # v5: nothing recorded yet
        assert store.db.execute("SELECT username, email, extension FROM users").fetchall() == [
            ("ada", "ada@example.org", "")]                          # kept, no extension
        assert [a.at for a in attempts(store, 2e9)] == [1e9]          # the history is kept
        store.add_users([Student("ada", "Ada", extension="2d")], now=1)
    with ServerStore(tmp_path / "old.sqlite") as again:              # opening twice is fine
        assert own_deadlines(again, 0.0) == {"ada": 2 * DAY_SECONDS}


@pytest.mark.parametrize("flags, want", [
    ({"deadline": DEADLINE_TEXT}, (DEADLINE, "ignore")),
    ({"deadline": DEADLINE_TEXT, "late_policy": "penalty:10%/day,max 50%"},
     (DEADLINE, "penalty:10%/day,max 50%")),
    ({}, (None, "ignore")),
])
def test_settings_read_the_deadline_and_policy(flags, want):
    settings = ServerSettings(**flags)
    assert (settings.deadline_at, str(settings.policy)) == want
    assert ServerSettings(**json.loads(settings.to_env())) == settings   # what workers read
    assert settings.deadline_of("1d") == (None if want[0] is None else want[0] + DAY_SECONDS)
    assert any(line.startswith("  deadline: ") for line in describe(settings))


@pytest.mark.parametrize("argv, want", [
    (["--deadline", "2026-12-11T23:59"], "has no UTC offset"),
    (["--deadline", "friday"], "is not an ISO 8601 time"),
    (["--late-policy", "half"], "late policy 'half' is not one of"),
])
def test_serve_refuses_a_bad_deadline_or_policy_in_one_line(tmp_path, capsys, argv, want):
    assert main(["serve", "--data", str(tmp_path), "--roster", "", *argv]) == 1
    error = capsys.readouterr().err
    assert error.startswith("Error: ") and want in error and error.count("\n") == 1
