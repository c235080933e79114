"""grader.progress: per-user progress files, atomic, locked, never downgraded."""

import json
import multiprocessing
import sys
from datetime import datetime, timedelta, timezone

import pytest

import automark as am
from grader.client import progress
from grader.client.progress import ATTEMPTED, COMPLETED, NOT_ATTEMPTED, ProgressStore

N_PROCESSES, N_RECORDS = 4, 25


@pytest.fixture
def store(tmp_path):
    return ProgressStore(tmp_path / "progress")


@pytest.fixture
def ticking_clock(monkeypatch):
    """datetime.now() in grader.progress advances one minute per call."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ticks = iter(range(10_000))

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return start + timedelta(minutes=next(ticks))

    monkeypatch.setattr(progress, "datetime", Clock)
    return start


def test_default_folder_comes_from_the_environment(isolated_progress):
    assert ProgressStore().directory == isolated_progress


def test_new_user_has_an_empty_record(store):
    assert store.load("alice") == {"username": "alice", "tasks": {}, "history": []}
    assert store.states("alice") == {}
    assert not store.directory.exists()  # reading creates nothing


@pytest.mark.parametrize("remote_passed, want", [
    ([False], [ATTEMPTED]),
    ([True], [COMPLETED]),
    ([False, True], [ATTEMPTED, COMPLETED]),
    ([True, False], [COMPLETED, COMPLETED]),
    ([False, False, True, False, True], [ATTEMPTED, ATTEMPTED, COMPLETED, COMPLETED, COMPLETED]),
])
def test_state_goes_up_and_never_down(store, remote_passed, want):
    got = [store.record("alice", "conv_matrix", local_passed=True, remote_passed=passed)
           for passed in remote_passed]
    assert got == want
    assert store.states("alice") == {"conv_matrix": want[-1]}
    assert store.load("alice")["tasks"]["conv_matrix"]["attempts"] == len(remote_passed)


def test_states_are_the_three_names():
    assert progress.STATES == (NOT_ATTEMPTED, ATTEMPTED, COMPLETED) == (
        "not attempted", "attempted", "completed")


def test_tasks_are_recorded_separately(store):
    store.record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    store.record("alice", "box_blur", local_passed=False, remote_passed=False)
    store.record("bob", "box_blur", local_passed=True, remote_passed=True)
    assert store.states("alice") == {"conv_matrix": COMPLETED, "box_blur": ATTEMPTED}
    assert store.states("bob") == {"box_blur": COMPLETED}


def test_history_keeps_every_attempt(store, ticking_clock):
    attempts = [("conv_matrix", False, False), ("conv_matrix", True, False),
                ("box_blur", True, True), ("conv_matrix", True, True)]
    for task, local, remote in attempts:
        store.record("alice", task, local_passed=local, remote_passed=remote)
    history = store.load("alice")["history"]
    assert [(h["task"], h["local_passed"], h["remote_passed"]) for h in history] == attempts
    assert [h["time"] for h in history] == [
        (ticking_clock + timedelta(minutes=i)).isoformat() for i in range(4)]


def test_completion_time_is_the_first_completion(store, ticking_clock):
    for passed in (False, True, True, False):
        store.record("alice", "conv_matrix", local_passed=True, remote_passed=passed)
    entry = store.load("alice")["tasks"]["conv_matrix"]
    assert entry["completed_at"] == (ticking_clock + timedelta(minutes=1)).isoformat()
    assert entry["last_attempt"] == (ticking_clock + timedelta(minutes=3)).isoformat()


def test_file_is_valid_json_after_every_write_and_no_temporary_files_remain(store):
    path = store.directory / "alice.json"
    for i in range(5):
        store.record("alice", "conv_matrix", local_passed=True, remote_passed=i == 3)
        assert json.loads(path.read_text(encoding="utf-8"))["username"] == "alice"
        leftovers = [p.name for p in store.directory.iterdir()
                     if p.name.startswith(".") or p.suffix == ".tmp"]
        assert leftovers == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(store, monkeypatch):
    store.record("alice", "conv_matrix", local_passed=True, remote_passed=True)
    path = store.directory / "alice.json"
    before = path.read_text(encoding="utf-8")

    def half_a_dump(data, handle, **kwargs):
        handle.write('{"username": "ali')
        raise OSError("disk full")

    monkeypatch.setattr(progress.json, "dump", half_a_dump)
    with pytest.raises(OSError, match="disk full"):
        store.record("alice", "box_blur", local_passed=True, remote_passed=True)
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in store.directory.iterdir()) == ["alice.json", "alice.lock"]


def _record_many(directory, worker, n):
    store = ProgressStore(directory)
    for i in range(n):
        task = "conv_matrix" if i % 2 else f"task_{worker}"
        store.record("alice", task, local_passed=True, remote_passed=i % 5 == 0)


def test_concurrent_processes_lose_nothing(store):
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    workers = [context.Process(target=_record_many, args=(store.directory, w, N_RECORDS))
               for w in range(N_PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0] * N_PROCESSES
    data = json.loads((store.directory / "alice.json").read_text(encoding="utf-8"))
    assert sum(entry["attempts"] for entry in data["tasks"].values()) == N_PROCESSES * N_RECORDS
    assert len(data["history"]) == N_PROCESSES * N_RECORDS
    assert data["tasks"]["conv_matrix"]["attempts"] == N_PROCESSES * (N_RECORDS // 2)
    assert all(entry["state"] == COMPLETED for entry in data["tasks"].values())
    assert not [p for p in store.directory.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize("text", ["", "{", '{"username": "alice", "tasks": {', "not json",
                                  "\x00\x00"])
def test_corrupt_file_is_a_clear_value_error(store, text):
    store.directory.mkdir(parents=True)
    path = store.directory / "alice.json"
    path.write_text(text, encoding="utf-8")
    for action in (lambda: store.states("alice"),
                   lambda: store.record("alice", "conv_matrix", local_passed=True,
                                        remote_passed=True)):
        with pytest.raises(ValueError, match="alice.json is not valid JSON") as caught:
            action()
        assert "delete it to start the progress afresh" in str(caught.value)
    assert path.read_text(encoding="utf-8") == text  # never overwritten


@pytest.mark.parametrize("text", ["{}", "[]", "null", '{"tasks": [], "history": {}}'])
def test_progress_file_of_the_wrong_shape_is_a_clear_value_error(store, text):
    store.directory.mkdir(parents=True)
    (store.directory / "alice.json").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="alice.json"):
        store.states("alice")


@pytest.mark.parametrize("username", ["../alice", "a/b", "..", "/etc/passwd", ".alice", "a\\b",
                                      "", None])
def test_unsafe_username_is_refused(store, tmp_path, username):
    with pytest.raises(ValueError, match="username must be"):
        store.record(username, "conv_matrix", local_passed=True, remote_passed=True)
    with pytest.raises(ValueError, match="username must be"):
        store.states(username)
    assert not list(tmp_path.rglob("*.json"))


def test_stub_records_nothing_but_an_attempt_does(isolated_progress):
    def relu_forward(x_input):
        raise NotImplementedError

    am.test_student_function("alice", relu_forward, ["x_input"])
    assert ProgressStore().states("alice") == {}

    def relu_forward(x_input):  # noqa: F811 - the student's second try
        return x_input

    am.test_student_function("alice", relu_forward, ["x_input"])
    assert ProgressStore().states("alice") == {"relu_forward": ATTEMPTED}
