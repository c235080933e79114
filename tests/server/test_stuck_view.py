"""Who is stuck, on what: the rule (tried recently, not completed, why from the last check),
the page in a real headless browser, the CSV behind the same token, formula-safe."""

import csv
import io
import json
import urllib.parse

import pytest
import requests
from server_fixtures import TOKEN, server, start_server  # noqa: F401
from test_server_admin import answer, browser

from grader.client.roster import Student
from grader.core.tasks import ordered_for_progress
from grader.server import stuck
from grader.server.admin import DISABLED, NEEDS_TOKEN
from grader.server.store import Issued, ServerStore
from grader.server.stuck import HIDDEN_FAILS, HIDDEN_WAITS, LOCAL_FAILS, stuck_view

NOW = 2_000_000.0
FLIPPED = "true convolution (kernel flipped)"
FUNCTIONS = [task.name for task in ordered_for_progress()]


def local(store, username, function, ago, passed, mistake=""):
    store.db.execute("INSERT INTO local_checks (username, function, at, passed, mistake) "
                     "VALUES (?, ?, ?, ?, ?)", (username, function, NOW - ago, int(passed), mistake))


def hidden(store, username, function, ago, success):
    ipd = store.db.execute("SELECT count(*) FROM issued").fetchone()[0] + 1
    issued = store.issue(Issued(username, function, ipd, 0, "{}"), now=NOW - ago)
    store.record_attempt(issued, success=success, verdict="ok" if success else "mismatch",
                         now=NOW - ago, window_seconds=0)


@pytest.fixture
def store(tmp_path):
    with ServerStore(tmp_path / "server.sqlite") as opened:
        opened.add_users([Student("ada", "Ada", "ada@example.org")], now=0)
        yield opened


@pytest.mark.parametrize("events, want_reason, want_last", [
    ([(local, 60, False, FLIPPED)], FLIPPED, "local check of conv_matrix: failed (" + FLIPPED + ")"),
    ([(local, 60, False)], LOCAL_FAILS, "local check of conv_matrix: failed"),
    ([(local, 90, True), (hidden, 60, False)], HIDDEN_FAILS, "hidden check of conv_matrix: failed"),
    ([(hidden, 60, False)], HIDDEN_FAILS, "hidden check of conv_matrix: failed"),  # AutoMark's client
    ([(local, 60, True)], HIDDEN_WAITS, "local check of conv_matrix: passed"),
    ([(hidden, 90, False), (local, 60, False, FLIPPED)], FLIPPED, None),           # newest decides
    ([(local, 90, False, FLIPPED), (hidden, 60, True)], None, "hidden check of conv_matrix: passed"),
    ([(hidden, 90, True), (local, 60, False, FLIPPED)], None, None),      # completed stays done
    ([(local, 2 * 3600, False, FLIPPED)], None, None),                     # not in the window
    ([], None, None),
])
def test_stuck_means_tried_recently_and_not_completed(store, events, want_reason, want_last):
    for record, ago, *outcome in events:
        record(store, "ada", "conv_matrix", ago, *outcome)
    view = stuck_view(store, now=NOW)
    [ada] = view.students
    assert ada.stuck_on == ({"conv_matrix": want_reason} if want_reason else {})
    if want_last:
        assert ada.last.what == want_last
    assert (ada.last is None) == (not events)
    row = next(f for f in view.per_function if f.function == "conv_matrix")
    assert row.stuck == (1 if want_reason else 0)


def test_per_function_the_reasons_are_counted_with_their_students(store):
    store.add_users([Student(name, "", "") for name in ("bob", "cy", "dee", "eve")], now=0)
    for name in ("ada", "bob", "cy"):
        local(store, name, "conv_matrix", 120, False, FLIPPED)
    local(store, "dee", "conv_matrix", 100, False)
    local(store, "dee", "box_blur", 30, True)
    view = stuck_view(store, now=NOW)
    conv = next(f for f in view.per_function if f.function == "conv_matrix")
    assert [(r.text, r.usernames) for r in conv.reasons] == [
        ("3 students: " + FLIPPED, ("ada", "bob", "cy")), ("1 student: " + LOCAL_FAILS, ("dee",))]
    assert [s.username for s in view.students] == ["dee", "ada", "bob", "cy", "eve"]
    assert view.students[0].last.function == "box_blur"    # dee's newest, of any function
    assert view.students[-1].last is None and view.students[-1].stuck_on == {}


def test_each_pair_is_read_through_an_index_not_a_scan_of_history(store):
    values = ", ".join("(?)" for _ in FUNCTIONS)
    for table, order in (("local_checks", "at DESC, id DESC"), ("attempts", "id DESC")):
        sql = stuck._NEWEST.format(values=values, outcome="at", extra="", order=order, table=table)
        plan = " | ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql, FUNCTIONS))
        assert f"SEARCH {table} USING COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan


def record(server, username, function, passed, mistake=""):
    segments = ["record_local_check", username, function, passed, mistake]
    response = requests.get(server.url + "/".join(urllib.parse.quote(s, safe="") for s in segments),
                            timeout=30)
    assert response.json() == {"success": True}


@pytest.fixture(scope="module")
def class_stuck(server):
    for name in ("ada", "bob"):
        record(server, name, "conv_matrix", "0", FLIPPED)
    record(server, "cy", "box_blur", "1")
    assert answer(server, "cy", "box_blur", right=False) == {"success": False}
    record(server, "dee", "relu_forward", "0")
    return server


@pytest.mark.parametrize("how, want", [
    ({}, 401),
    ({"params": {"token": "wrong-token-123"}}, 401),
    ({"headers": {"Authorization": f"Bearer {TOKEN}"}}, 200),
    ({"params": {"token": TOKEN}}, 200),
])
def test_the_stuck_csv_needs_the_token(class_stuck, how, want):
    response = requests.get(class_stuck.url + "admin/stuck.csv", timeout=30, **how)
    assert response.status_code == want and response.headers["cache-control"] == "no-store"
    if want == 401:
        assert response.json() == {"error": NEEDS_TOKEN}


def test_without_a_token_the_stuck_csv_is_refused(start_server):
    response = requests.get(start_server().url + "admin/stuck.csv", timeout=30)
    assert (response.status_code, response.json()) == (403, {"error": DISABLED})


def test_the_stuck_csv_has_a_row_per_student_and_the_reason_per_function(class_stuck):
    response = requests.get(class_stuck.url + "admin/stuck.csv", params={"token": TOKEN}, timeout=30)
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="stuck.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["username", "name", "email", "last_activity_utc", "last_activity",
                             "stuck_functions", *FUNCTIONS]
    by_user = {row["username"]: row for row in rows}
    assert by_user["ada"]["conv_matrix"] == FLIPPED and by_user["ada"]["stuck_functions"] == "1"
    assert by_user["cy"]["box_blur"] == HIDDEN_FAILS
    assert by_user["cy"]["last_activity"] == "hidden check of box_blur: failed"
    assert by_user["dee"]["relu_forward"] == LOCAL_FAILS
    assert by_user["dee"]["last_activity_utc"].endswith("Z")


def test_the_stuck_csv_cells_are_formula_safe(start_server):
    live = start_server("--admin-token", TOKEN, roster=[("eve", "=HYPERLINK(1)", "@x")])
    record(live, "eve", "conv_matrix", "0")
    text = requests.get(live.url + "admin/stuck.csv", params={"token": TOKEN}, timeout=30).text
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["name"], row["email"]) == ("'=HYPERLINK(1)", "'@x")


def test_the_stuck_view_in_a_real_browser(class_stuck, tmp_path):
    from selenium.webdriver.common.by import By
    driver = browser()
    try:
        driver.get(f"{class_stuck.url}?token={TOKEN}")
        stuck_rows = driver.find_elements(By.CSS_SELECTOR, "#stuck tbody tr")
        assert [row.get_attribute("data-function") for row in stuck_rows] == ["conv_matrix"] + sorted(
            ["box_blur", "relu_forward"], key=FUNCTIONS.index)   # the most students first
        reason = driver.find_element(By.CSS_SELECTOR, '#stuck tr[data-function="conv_matrix"] .reason')
        assert reason.text == f"2 students: {FLIPPED}: ada, bob"
        activity = driver.find_elements(By.CSS_SELECTOR, "#activity tbody tr")
        assert sorted(row.get_attribute("data-username") for row in activity) == [
            "ada", "bob", "cy", "dee"]
        cy = driver.find_element(By.CSS_SELECTOR, '#activity tr[data-username="cy"]')
        assert "hidden check of box_blur: failed" in cy.text and "min ago" in cy.text
        assert cy.get_attribute("class") == "stuck"
        assert cy.find_element(By.TAG_NAME, "td").value_of_css_property("background-color") == \
            "rgba(255, 227, 227, 1)"
        assert driver.find_element(By.ID, "stuck-csv").get_attribute("href").endswith(
            f"/admin/stuck.csv?token={TOKEN}")
        driver.save_screenshot(str(tmp_path / "stuck.png"))
        driver.get(class_stuck.url + "admin/stuck.csv")
        assert json.loads(driver.find_element(By.TAG_NAME, "body").text) == {"error": NEEDS_TOKEN}
    finally:
        driver.quit()


def test_the_page_counts_the_records_refused_by_their_rate_limit(start_server):
    from grader.server.local_checks import MAX_RECORDS
    live = start_server("--admin-token", TOKEN)
    for _ in range(MAX_RECORDS):
        record(live, "ada", "conv_matrix", "0")
    refused = requests.get(live.url + "record_local_check/ada/conv_matrix/0/", timeout=30)
    assert refused.status_code == 300 and "local-check records per 60 s" in refused.json()["error"]
    html = requests.get(live.url, params={"token": TOKEN}, timeout=30).text
    assert "Local-check records refused by their rate limit (this worker): 1." in html
    assert "1 student: " + LOCAL_FAILS in html
