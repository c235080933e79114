"""The staff pages: behind the token, the class live, the same as CSV; checked with requests
and in a real headless browser (Debian's chromium driven by Selenium)."""

import csv
import io
import json
import shutil

import numpy as np
import pytest
import requests
from server_fixtures import TOKEN, server, start_server  # noqa: F401

from grader.core.tasks import TASKS, get_task, ordered_for_progress, this_week_names
from grader.server.admin import DISABLED, NEEDS_TOKEN

FUNCTIONS = [task.name for task in ordered_for_progress()]


def answer(server, username, function, *, right=True):
    data = requests.get(f"{server.url}get_test_input/{username}/{function}", timeout=30).json()
    case = {name: np.array(arg["data"]) if arg["type"] == "ndarray" else arg["data"]
            for name, arg in data["input"].items()}
    result = np.asarray(get_task(function).reference(**case), dtype=float) + (0 if right else 1)
    return requests.get(f"{server.url}check_answer/{username}/{function}/{data['ipd']}/"
                        f"{json.dumps(result.tolist())}", timeout=30).json()


@pytest.fixture(scope="module")
def class_with_progress(server):
    assert answer(server, "ada", "conv_matrix") == {"success": True}
    assert answer(server, "ada", "box_blur", right=False) == {"success": False}
    assert answer(server, "bob", "conv_matrix", right=False) == {"success": False}
    return server


@pytest.mark.parametrize("path", ["", "admin/progress.csv"])
@pytest.mark.parametrize("how, want", [
    ({}, 401),
    ({"params": {"token": "wrong-token-123"}}, 401),
    ({"headers": {"Authorization": "Bearer wrong-token-123"}}, 401),
    ({"params": {"token": TOKEN}}, 200),
    ({"headers": {"Authorization": f"Bearer {TOKEN}"}}, 200),
])
def test_the_staff_pages_need_the_token(class_with_progress, path, how, want):
    response = requests.get(class_with_progress.url + path, timeout=30, **how)
    assert response.status_code == want
    if want == 401:
        assert response.json() == {"error": NEEDS_TOKEN}
    assert response.headers["cache-control"] == "no-store"


def test_without_a_token_the_staff_pages_are_refused(start_server):
    server = start_server()
    for path in ("", "admin/progress.csv", "?token=", "?token=None"):
        response = requests.get(server.url + path, timeout=30)
        assert (response.status_code, response.json()) == (403, {"error": DISABLED})


def test_the_token_can_come_from_the_environment(start_server):
    server = start_server(env={"AUTOMARK_ADMIN_TOKEN": "from-the-environment"})
    assert requests.get(server.url, params={"token": "from-the-environment"}, timeout=30).ok


def test_the_csv_has_a_row_per_student_and_a_column_per_function(class_with_progress):
    response = requests.get(class_with_progress.url + "admin/progress.csv",
                            params={"token": TOKEN}, timeout=30)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["username", "name", "email", *FUNCTIONS, "completed",
                             "completed last week", "attempts"]
    by_user = {row["username"]: row for row in rows}
    assert sorted(by_user) == ["ada", "bob", "cy", "dee"]
    assert (by_user["ada"]["conv_matrix"], by_user["ada"]["box_blur"]) == ("completed", "attempted")
    assert (by_user["ada"]["completed"], by_user["ada"]["attempts"]) == ("1", "2")
    assert by_user["ada"]["completed last week"] == "0"
    assert by_user["bob"]["conv_matrix"] == "attempted"
    assert all(by_user["cy"][name] == "not attempted" for name in FUNCTIONS)


def test_completed_counts_this_weeks_functions_as_the_export_grades(start_server):
    """A new instructor's TA compared the page ("completed" over all 18 functions, last week's
    too) with the export (this week's 5) and could not make them agree."""
    server = start_server("--rate-limit-seconds", "0", "--admin-token", TOKEN)
    last_week = next(task.name for task in ordered_for_progress()
                     if task.name not in this_week_names())
    assert answer(server, "ada", "conv_matrix") == {"success": True}
    assert answer(server, "ada", last_week) == {"success": True}
    text = requests.get(server.url + "admin/progress.csv", params={"token": TOKEN}, timeout=30).text
    ada = next(row for row in csv.DictReader(io.StringIO(text)) if row["username"] == "ada")
    assert (ada["completed"], ada["completed last week"]) == ("1", "1")
    html = requests.get(server.url, params={"token": TOKEN}, timeout=30).text
    assert f"this week's {len(this_week_names())} functions (what the export grades" in html
    week_rows = html.split('id="per-function"')[1].split("</table>")[0]
    assert week_rows.index("this week's") < week_rows.index('data-function="conv_matrix"') < \
        week_rows.index("last week's") < week_rows.index(f'data-function="{last_week}"')


def test_the_page_escapes_names(class_with_progress):
    html = requests.get(class_with_progress.url, params={"token": TOKEN}, timeout=30).text
    assert "Dee &lt;b&gt;Bold&lt;/b&gt;" in html and "<b>Bold" not in html


def browser():
    """Headless Debian chromium through its chromedriver, or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no chromium/chromedriver: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver))


def test_the_page_in_a_real_browser(class_with_progress, tmp_path):
    from selenium.webdriver.common.by import By
    server = class_with_progress
    driver = browser()
    try:
        driver.get(f"{server.url}?token={TOKEN}")
        assert driver.title == "AutoMark: class progress"
        students = driver.find_elements(By.CSS_SELECTOR, "#students tbody tr")
        assert [row.get_attribute("data-username") for row in students] == ["ada", "bob", "cy", "dee"]
        cell = driver.find_element(By.CSS_SELECTOR,
                                   '#students tr[data-username="ada"] td[data-function="conv_matrix"]')
        assert cell.get_attribute("class") == "completed" and cell.text == "✓"
        assert cell.value_of_css_property("background-color") == "rgba(155, 227, 155, 1)"
        row = driver.find_element(By.CSS_SELECTOR, '#per-function tr[data-function="conv_matrix"]')
        assert row.text.split()[-4:] == ["1", "1", "2", "25%"]
        hours = [row.text.split()[-2:] for row in
                 driver.find_elements(By.CSS_SELECTOR, "#by-hour tbody tr")]
        assert [sum(int(row[i]) for row in hours) for i in (0, 1)] == [3, 1]
        assert "Dee <b>Bold</b>" in driver.find_element(By.ID, "students").text
        assert driver.find_element(By.ID, "csv").get_attribute("href").endswith(
            f"/admin/progress.csv?token={TOKEN}")
        driver.save_screenshot(str(tmp_path / "admin.png"))
        driver.get(server.url)
        assert json.loads(driver.find_element(By.TAG_NAME, "body").text) == {"error": NEEDS_TOKEN}
    finally:
        driver.quit()


def test_every_function_has_a_column(class_with_progress):
    html = requests.get(class_with_progress.url, params={"token": TOKEN}, timeout=30).text
    assert all(f'<th class="fn">{task.name}</th>' in html for task in TASKS)


def test_a_username_not_on_the_roster_is_seen_by_the_staff(start_server):
    """A student who types "Ada" or "adaa" is told "not registered" and seen by no one: the
    stuck view cannot know them. The page names what this worker refused, latest first."""
    server = start_server("--rate-limit-seconds", "0", "--admin-token", TOKEN)
    for path in ("get_progress/Ada", "get_test_input/adaa/conv_matrix", "get_progress/Ada",
                 "record_local_check/x%3Cb%3E/conv_matrix/0/"):
        requests.get(server.url + path, timeout=30)
    html = requests.get(server.url, params={"token": TOKEN}, timeout=30).text
    unknown = html.split('id="unknown"')[1].split("</span>.")[0]
    assert unknown.index('data-username="x&lt;b&gt;"') < unknown.index('data-username="Ada"') \
        < unknown.index('data-username="adaa"')
    assert "Ada (2x, " in unknown and "<b>" not in unknown


def test_a_worker_remembers_a_bounded_number_of_unknown_names(tmp_path):
    from grader.server import cases, service
    from grader.server.store import ServerStore
    with ServerStore(tmp_path / "s.sqlite") as store:
        automark = service.AutoMarkService(store, cases.build_local_tests(TASKS[:1]),
                                           rate_limit_seconds=0)
        for number in range(service.UNKNOWN_KEPT + 30):
            with pytest.raises(service.ProtocolError, match="is not registered"):
                automark.get_progress(f"nobody{number}" + "x" * 500)
        assert len(automark.unknown_users) == service.UNKNOWN_KEPT
        assert all(len(name) <= service.SHOWN_CHARS + 3 for name in automark.unknown_users)
        assert "nobody0" + "x" * 93 + "..." not in automark.unknown_users     # the oldest went
