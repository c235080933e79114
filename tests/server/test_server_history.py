"""A request's cost does not grow with the student's history: every query is an index search.

The plans are read from SQLite (``EXPLAIN QUERY PLAN``) for the very statements the
service runs, caught with the connection's trace callback, after one student has been
issued (and has answered) many inputs of one function. A timing would be flaky on a
shared machine; the plan is what makes the cost flat.
"""

import sqlite3

import pytest

from grader.client.roster import Student
from grader.core.tasks import get_task
from grader.server import cases
from grader.server.schema import SCHEMA_V1, statements
from grader.server.service import AutoMarkService
from grader.server.store import APPLICATION_ID, SCHEMA_VERSION, Issued, ServerStore

HISTORY = 400                        # inputs issued to ada for conv_matrix before the round
TASK = get_task("conv_matrix")
WRITES_AND_READS = ("SELECT", "INSERT", "UPDATE", "DELETE")
OUTSTANDING_PLAN = "SEARCH issued USING INDEX issued_outstanding (username=? AND function=?)"


def stored_input(seed: int) -> str:
    return cases.input_json(TASK, cases.draw_case(TASK, seed))


def answer_all(store: ServerStore, username: str, count: int) -> None:
    """Issue ``count`` inputs of conv_matrix to ``username`` and answer each one."""
    for ipd in range(1, count + 1):
        issued = store.issue(Issued(username, TASK.name, ipd, ipd, stored_input(ipd)), now=ipd)
        store.record_attempt(issued, success=ipd % 2 == 0, verdict="x", now=ipd,
                             window_seconds=0)


@pytest.fixture
def store(tmp_path):
    with ServerStore(tmp_path / "server.sqlite") as store:
        store.add_users([Student("ada", "Ada", ""), Student("bob", "Bob", "")], now=0.0)
        answer_all(store, "ada", HISTORY)
        answer_all(store, "bob", 5)
        yield store


def plans(db: sqlite3.Connection, executed: list[str]) -> list[tuple[str, list[str]]]:
    """``(statement, its query plan's lines)`` of the reads and writes among ``executed``."""
    return [(sql, [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")])
            for sql in executed if sql.lstrip().upper().startswith(WRITES_AND_READS)]


def one_round(store: ServerStore) -> list[tuple[str, list[str]]]:
    """The plans of a student's round: get_test_input, check_answer, get_progress."""
    service = AutoMarkService(store, cases.build_local_tests([TASK]), rate_limit_seconds=30,
                              tasks=[TASK], clock=lambda: 1e6)
    executed: list[str] = []
    store.db.set_trace_callback(executed.append)   # the statements with their values bound
    try:
        sent = service.get_test_input("ada", TASK.name)
        ipd = sent.split('"ipd": ')[1].split(",")[0]
        assert service.check_answer("ada", TASK.name, ipd, b"[1]") == '{"success": false}'
        service.get_progress("ada")
    finally:
        store.db.set_trace_callback(None)
    return plans(store.db, executed)


def test_no_statement_of_a_round_scans_a_table_or_sorts(store):
    found = one_round(store)
    assert len(found) >= 8, found           # the round's statements were all caught
    for sql, lines in found:
        for line in lines:
            assert not line.startswith("SCAN") and "TEMP B-TREE" not in line, (sql, line)


def test_the_inputs_of_a_student_are_read_by_full_key_or_the_outstanding_index(store):
    """A search on issued by (username, function) alone would read the whole history."""
    on_issued = [(sql, line) for sql, lines in one_round(store) for line in lines
                 if " issued " in f"{line} "]
    assert sum(line == OUTSTANDING_PLAN for _, line in on_issued) == 2   # get_test_input, issue
    for sql, line in on_issued:
        assert line == OUTSTANDING_PLAN or "ipd=?" in line, (sql, line)


def test_the_outstanding_index_holds_the_unanswered_inputs_only(store):
    store.issue(Issued("ada", TASK.name, HISTORY + 1, 1, stored_input(1)), now=HISTORY + 1)
    indexed = store.db.execute("SELECT count(*) FROM issued INDEXED BY issued_outstanding "
                               "WHERE username = 'ada' AND function = ? AND answered = 0",
                               (TASK.name,)).fetchone()[0]
    assert (store.count("issued"), indexed) == (HISTORY + 5 + 1, 1)
    assert store.outstanding("ada", TASK.name).ipd == HISTORY + 1


def version_1_file(path) -> None:
    """A database as the first server version left it, with a history and an open input."""
    db = sqlite3.connect(path, isolation_level=None)
    for statement in statements(SCHEMA_V1):
        db.execute(statement)
    db.execute("INSERT INTO users VALUES ('ada', 'Ada', '', 0)")
    db.executemany("INSERT INTO issued VALUES ('ada', 'conv_matrix', ?, ?, '{}', ?, ?)",
                   [(ipd, ipd, float(ipd), int(ipd < 30)) for ipd in range(1, 31)])
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.close()


def test_a_version_1_file_opens_and_gets_the_index(tmp_path):
    version_1_file(tmp_path / "old.sqlite")
    with ServerStore(tmp_path / "old.sqlite") as store:
        assert store.db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert SCHEMA_VERSION >= 2
        assert store.db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                "name = 'issued_outstanding'").fetchone() == (1,)
        assert store.count("local_checks") == 0                       # version 3's table
        assert store.outstanding("ada", "conv_matrix").ipd == 30   # the history is kept
        plan = [row[3] for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT ipd FROM issued WHERE username = 'ada' AND "
            "function = 'conv_matrix' AND answered = 0 ORDER BY issued_at DESC LIMIT 1")]
        assert plan == [OUTSTANDING_PLAN]
    with ServerStore(tmp_path / "old.sqlite") as again:                # opening twice is fine
        assert again.outstanding("ada", "conv_matrix").ipd == 30
