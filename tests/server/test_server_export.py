"""``server export``: the grades as of each student's deadline, in class grading's files.

The state is made through the service itself (the answers judged, the attempts timed by a
clock the test sets), then exported under each policy; under ``count`` and ``ignore`` the
files are compared byte for byte with class grading's own exports (``write_exports``, the
function ``grade`` calls) of the same state; under a penalty, with the points by hand.
"""

import csv
import functools
import json
import urllib.parse

import pytest
from protocol_client import ProtocolClient
from server_fixtures import start_server  # noqa: F401 - a fixture

from grader.classgrade.course import Course
from grader.classgrade.run import default_task_names, write_exports
from grader.cli import main
from grader.client.roster import read_roster
from grader.core import results
from grader.core.deadlines import LatePolicy, parse_deadline, parse_late_policy
from grader.core.results import CaseResult, SubmissionResult, TaskResult
from grader.core.tasks import TASKS, get_task
from grader.server import cases
from grader.server import export as server_export
from grader.server.run import add_users
from grader.server.service import AutoMarkService
from grader.server.store import ServerStore

DEADLINE_TEXT = "2026-12-11T23:59+01:00"
DEADLINE = parse_deadline(DEADLINE_TEXT)
HOUR = 3600.0
COURSE = Course(assignment="Lab 3", points={"conv_matrix": 2.0, "box_blur": 1.0})
ROSTER = ("username,name,email,canvas_id,moodle_id,brightspace_id,extension\n"
          "ada,Ada,ada@example.org,11,101,b-1,\n"
          "bob,Bob,,12,102,b-2,3d\n"
          "cy,Cy,,13,103,,\n"
          "dee,Dee,,14,,b-4,\n"
          "eve,Eve,,15,105,b-5,\n")
# (who, function, hours after the course's deadline, right?): the class's week on the server
EVENTS = [
    ("ada", "conv_matrix", -30, True),
    ("ada", "box_blur", -20, False),
    ("ada", "box_blur", 5, True),                  # too late for ada: box_blur stays failed
    ("bob", "conv_matrix", 48, True),              # on time: bob has 3 more days
    ("bob", "box_blur", 4 * 24, True),             # 1 started day late for bob
    ("cy", "conv_matrix", 1, True),                # cy tried only after the deadline
    ("eve", "conv_matrix", -2, False),
    ("eve", "conv_matrix", 60, True),              # 3 started days late
    ("eve", "maxpool_forward", -1, True),
]
# the tasks each student passed, what each passed task is worth, under a policy
AS_OF = {
    "ignore": {"ada": {"conv_matrix": 1}, "bob": {"conv_matrix": 1}, "cy": None,
               "eve": {"maxpool_forward": 1}},
    "count": {"ada": {"conv_matrix": 1, "box_blur": 1}, "bob": {"conv_matrix": 1, "box_blur": 1},
              "cy": {"conv_matrix": 1}, "eve": {"conv_matrix": 1, "maxpool_forward": 1}},
    "penalty:10%/day,max 50%": {
        "ada": {"conv_matrix": 1, "box_blur": 0.9}, "bob": {"conv_matrix": 1, "box_blur": 0.9},
        "cy": {"conv_matrix": 0.9}, "eve": {"conv_matrix": 0.7, "maxpool_forward": 1}},
}


class Clock:
    now = DEADLINE

    def __call__(self) -> float:
        return self.now


def answer(service, username, task, right) -> str:
    sent = json.loads(service.get_test_input(username, task.name))
    _, expected = cases.expected_output(task, json.dumps(sent["input"]))
    value = expected.tolist() if right else (expected + 1.0).tolist()
    segment = urllib.parse.quote(json.dumps(value)).encode()
    return service.check_answer(username, task.name, str(sent["ipd"]), segment)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The server's data folder after EVENTS, and the roster file."""
    folder = tmp_path_factory.mktemp("week")
    (folder / "students.csv").write_text(ROSTER, encoding="utf-8")
    add_users(folder / "students.csv", data=str(folder / "data"))
    clock = Clock()
    with ServerStore(folder / "data" / "server.sqlite") as store:
        service = AutoMarkService(store, cases.build_local_tests(TASKS), rate_limit_seconds=0,
                                  clock=clock)
        for username, function, hours, right in EVENTS:
            clock.now = DEADLINE + hours * HOUR
            want = '{"success": true}' if right else '{"success": false}'
            assert answer(service, username, get_task(function), right) == want
    return folder


def class_results(passed: dict) -> dict:
    """Class grading's results of the same state: every week-3 task, passed or failed."""
    made = {}
    for username, tasks in passed.items():
        if tasks is None:
            continue
        made[username] = SubmissionResult(username, content_hash="h-" + username, tasks=tuple(
            TaskResult(name, "grade", (CaseResult(0, results.OK), CaseResult(1, results.OK, hidden=True))
                       if name in tasks else (CaseResult(0, results.MISMATCH, "values differ"),))
            for name in default_task_names()))
    return made


def read(folder, name) -> bytes:
    return (folder / name).read_bytes()


def lms_ids(roster) -> dict:
    return {lms: {u: s.lms_id(lms) for u, s in roster.items() if s.lms_id(lms)}
            for lms in ("canvas", "moodle", "brightspace")}


def rows_of(path, columns=None) -> list[list[str]]:
    """A CSV's rows, cut to its first ``columns`` cells."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [row[:columns] for row in csv.reader(handle)]


FILES = ["gradebook.csv", "lms/canvas.csv", "lms/moodle.csv", "lms/brightspace.csv"]


@pytest.mark.parametrize("policy, deadline", [("count", None), ("count", DEADLINE),
                                              ("ignore", DEADLINE)])
def test_the_export_is_class_gradings_own_for_the_same_state(week, tmp_path, policy, deadline):
    roster = read_roster(week / "students.csv").students
    done = server_export.export_grades(week / "data", tmp_path / "server", deadline=deadline,
                                       policy=parse_late_policy(policy), course=COURSE,
                                       roster=roster)
    points = COURSE.points_for([get_task(name) for name in default_task_names()])
    write_exports(tmp_path / "class", students=list(roster.values()),
                  results=class_results(AS_OF[policy]), points=points, lms_ids=lms_ids(roster),
                  item=COURSE.assignment)
    assert sorted(str(p.relative_to(tmp_path / "server")) for p in done.files) == sorted(
        FILES + ["gradebook.run.json"])
    assert done.students == 5
    server, grading = tmp_path / "server", tmp_path / "class"
    if deadline is None:  # no late columns on either side: the very same bytes
        for name in FILES:
            assert read(server, name) == read(grading, name), name
        return
    # with a deadline the server adds the late columns and words (class grading does so for
    # its own hand-ins); everything else is the same, and the grade files the very same bytes
    assert rows_of(server / "gradebook.csv", 12) == rows_of(grading / "gradebook.csv", 12)
    assert rows_of(server / "lms/moodle.csv", 9) == rows_of(grading / "lms/moodle.csv", 9)
    for name in ("lms/canvas.csv", "lms/brightspace.csv"):
        assert read(server, name) == read(grading, name), name


@pytest.mark.parametrize("policy, want", [
    ("ignore", {"bob": ("2026-12-15T22:59:00+00:00", "2026-12-14T22:59:00+00:00", "1",
                        "box_blur completed 1 day late: late work does not count (0 points)"),
                "eve": ("2026-12-14T10:59:00+00:00", "2026-12-11T22:59:00+00:00", "3",
                        "conv_matrix completed 3 days late: late work does not count (0 points)"),
                "dee": ("", "", "", "")}),
    ("penalty:10%/day,max 50%", {"bob": ("2026-12-15T22:59:00+00:00",
                                         "2026-12-14T22:59:00+00:00", "1",
                                         "box_blur completed 1 day late: -10% "
                                         "(penalty:10%/day,max 50%)")}),
])
def test_the_late_columns_say_what_was_late_and_what_it_cost(week, tmp_path, policy, want):
    server_export.export_grades(week / "data", tmp_path, deadline=DEADLINE, course=COURSE,
                                policy=parse_late_policy(policy))
    rows = gradebook(tmp_path)
    for username, cells in want.items():
        row = rows[username]
        assert (row["handed_in"], row["deadline"], row["days_late"], row["late"]) == cells


def gradebook(folder) -> dict:
    with open(folder / "gradebook.csv", newline="", encoding="utf-8") as handle:
        return {row["username"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("policy, want", [
    # ada, bob, cy, dee, eve: score (conv_matrix 2, box_blur 1, the other three 1 each: 6)
    ("ignore", ("2", "2", "0", "0", "1")),
    ("count", ("3", "3", "2", "0", "3")),
    ("penalty:10%/day,max 50%", ("2.9", "2.9", "1.8", "0", "2.4")),
    ("penalty:50%/day,max 100%", ("2.5", "2.5", "1", "0", "1")),   # eve's: nothing left
])
def test_scores_as_of_each_students_deadline(week, tmp_path, policy, want):
    server_export.export_grades(week / "data", tmp_path, deadline=DEADLINE,
                                policy=parse_late_policy(policy), course=COURSE)
    rows = gradebook(tmp_path)
    assert tuple(rows[u]["score"] for u in ("ada", "bob", "cy", "dee", "eve")) == want
    assert {row["possible"] for row in rows.values()} == {"6"}
    assert rows["dee"]["status"] == "no submission"
    assert rows["cy"]["status"] == ("no submission" if policy == "ignore" else "graded")


def test_without_a_deadline_everything_counts(week, tmp_path):
    server_export.export_grades(week / "data", tmp_path, course=COURSE)
    rows = gradebook(tmp_path)
    assert [rows[u]["score"] for u in ("ada", "bob", "cy", "eve")] == ["3", "3", "2", "3"]
    info = json.loads((tmp_path / "gradebook.run.json").read_text(encoding="utf-8"))
    assert (info["deadline"], info["late_policy"]) == ("", str(LatePolicy()))


def test_an_extension_granted_later_changes_the_export_and_no_attempt(week, tmp_path):
    copy = tmp_path / "data"
    copy.mkdir()
    (copy / "server.sqlite").write_bytes((week / "data" / "server.sqlite").read_bytes())
    (tmp_path / "late.csv").write_text("username,extension\ncy,1d\n", encoding="utf-8")
    add_users(tmp_path / "late.csv", data=str(copy))
    server_export.export_grades(copy, tmp_path / "out", deadline=DEADLINE, course=COURSE)
    assert gradebook(tmp_path / "out")["cy"]["score"] == "2"


def test_the_cli_exports_and_names_every_late_completion(week, tmp_path, capsys):
    code = main(["server", "export", "--data", str(week / "data"), "--out", str(tmp_path),
                 "--deadline", DEADLINE_TEXT, "--late-policy", "penalty:10%/day,max 50%",
                 "--roster", str(week / "students.csv"), "--tasks", "conv_matrix,box_blur"])
    out = capsys.readouterr().out
    assert code == 0
    assert "late: eve completed conv_matrix 3 day(s) after their deadline: 70% of its points" in out
    assert "late: bob completed box_blur 1 day(s) after their deadline: 90% of its points" in out
    rows = gradebook(tmp_path)
    assert list(next(iter(rows.values())))[3:6] == ["conv_matrix", "box_blur", "score"]
    # the kit's course.toml, as grade reads it: 1 point per mandatory task
    assert (rows["eve"]["conv_matrix"], rows["eve"]["percent"]) == ("0.7", "35.0")
    canvas = list(csv.reader((tmp_path / "lms" / "canvas.csv").open(encoding="utf-8")))
    assert canvas[0][-1] == "CNN assignment" and ["Eve", "15", "", "eve", "", "0.7"] in canvas


@pytest.mark.parametrize("flags, want_eve", [
    ([], "1.4"),                                              # course.toml's penalty
    (["--late-policy", "count"], "2"),                        # a flag wins
    (["--deadline", "2026-12-20T00:00Z"], "2"),               # on time then
])
def test_the_cli_takes_the_deadline_and_policy_from_course_toml(week, tmp_path, flags, want_eve):
    (tmp_path / "course.toml").write_text(
        f'deadline = "{DEADLINE_TEXT}"\nlate_policy = "penalty:10%/day,max 50%"\n'
        "[points.tasks]\nconv_matrix = 2\n", encoding="utf-8")
    assert main(["server", "export", "--data", str(week / "data"), "--out", str(tmp_path / "out"),
                 "--course", str(tmp_path / "course.toml"), *flags]) == 0
    assert gradebook(tmp_path / "out")["eve"]["conv_matrix"] == want_eve


@pytest.mark.parametrize("argv, want", [
    (["--deadline", "2026-12-11T23:59"], "has no UTC offset"),
    (["--late-policy", "late"], "late policy 'late' is not one of"),
    (["--tasks", "conv_matrx"], "Did you mean 'conv_matrix'?"),
])
def test_the_cli_refuses_bad_settings_in_one_line(week, tmp_path, capsys, argv, want):
    assert main(["server", "export", "--data", str(week / "data"), "--out", str(tmp_path),
                 *argv]) == 1
    error = capsys.readouterr().err
    assert error.startswith("Error: ") and want in error
    assert not (tmp_path / "gradebook.csv").exists()


def test_no_database_is_refused_and_none_is_made(tmp_path, capsys):
    assert main(["server", "export", "--data", str(tmp_path / "nowhere"), "--out",
                 str(tmp_path / "out")]) == 1
    assert "no server database at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "out").exists()


def test_a_roster_student_the_server_never_saw_has_a_row(week, tmp_path):
    (tmp_path / "students.csv").write_text(ROSTER + "zoe,Zoe,,16,,,\n", encoding="utf-8")
    roster = read_roster(tmp_path / "students.csv").students
    server_export.export_grades(week / "data", tmp_path / "out", course=COURSE, roster=roster)
    rows = gradebook(tmp_path / "out")
    assert (rows["zoe"]["name"], rows["zoe"]["status"]) == ("Zoe", "no submission")
    assert rows["ada"]["name"] == "Ada"


def test_the_export_grades_what_class_grading_grades_by_default():
    assert list(server_export.default_task_names()) == list(default_task_names())


def test_a_real_server_with_a_past_deadline_answers_as_ever_and_exports(start_server, tmp_path):  # noqa: F811
    roster = [("ada", "Ada", "ada@example.org"), ("bob", "Bob", "bob@example.org")]
    server = start_server("--rate-limit-seconds", "0", "--deadline", "2020-01-01T00:00Z",
                          roster=roster)
    (server.folder / "students.csv").write_text(
        "username,name,email,extension\nada,Ada,ada@example.org,\nbob,Bob,bob@example.org,"
        "2999-01-01T00:00Z\n", encoding="utf-8")
    add_users(server.folder / "students.csv", data=str(server.folder / "data"))
    task = get_task("conv_matrix")
    function = functools.partial(task.reference)
    function.__name__ = task.name
    for username in ("ada", "bob"):
        client = ProtocolClient(server.url, tmp_path / username)
        client.test_student_function(username, function, list(task.arg_names))
        assert client.printed[-1] == "Test was successful. Congratulations!"  # as without one
    assert main(["server", "export", "--data", str(server.folder / "data"), "--out",
                 str(tmp_path / "out"), "--deadline", "2020-01-01T00:00Z"]) == 0
    rows = gradebook(tmp_path / "out")
    assert (rows["ada"]["conv_matrix"], rows["bob"]["conv_matrix"]) == ("0", "1")


def test_the_export_after_a_served_week_takes_the_deadline_the_server_ran_with(start_server,  # noqa: F811
                                                                               tmp_path, capsys):
    """The course's week as the docs tell it: the server started with --deadline and a policy,
    the export typed without them. The export used no deadline at all, and every late
    completion counted in full without a word; the server records what it ran with."""
    server = start_server("--rate-limit-seconds", "0", "--deadline", "2020-01-01T00:00Z",
                          "--late-policy", "ignore", roster=[("ada", "Ada", "")])
    task = get_task("conv_matrix")
    function = functools.partial(task.reference)
    function.__name__ = task.name
    client = ProtocolClient(server.url, tmp_path / "ada")
    client.test_student_function("ada", function, list(task.arg_names))
    assert client.printed[-1] == "Test was successful. Congratulations!"
    assert main(["server", "export", "--data", str(server.folder / "data"), "--out",
                 str(tmp_path / "out")]) == 0
    assert "deadline: 2020-01-01T00:00Z (from the server's database), late policy: ignore" in \
        capsys.readouterr().err
    assert gradebook(tmp_path / "out")["ada"]["conv_matrix"] == "0"    # late, and not counted
    run = json.loads((tmp_path / "out" / "gradebook.run.json").read_text())
    assert (run["deadline"], run["late_policy"]) == ("2020-01-01T00:00:00+00:00", "ignore")
