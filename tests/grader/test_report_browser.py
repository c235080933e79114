"""report.html in a real headless browser (Debian's chromium through Selenium), offline.

The page is opened from file://, with no network: its columns sort on a click, a failed
mark says why on a click (and in its title, on hover), a username opens that student's
feedback as a page, at a phone's width (390 px) and a laptop's (1280 px) nothing scrolls
sideways but the students table in its own box, and the browser logs nothing (a script
the page's own policy blocked would).
Skipped, saying what is missing, where chromium or its driver is not installed
(``.ci/run`` installs them when it can).
"""

import shutil
from pathlib import Path

import pytest

from grader.classgrade import exports
from grader.client.roster import Student
from grader.core import results, tasks
from grader.core.results import CaseResult, SubmissionResult, TaskResult

FLIP = "true convolution (kernel flipped): use the kernel as it is, without flipping it"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--window-size=1280,900")


def task(name, *kinds, mistake=""):
    cases = tuple(CaseResult(index=i, kind=kind, message="" if kind == results.OK else
                             "values differ at [0, 1]") for i, kind in enumerate(kinds))
    return TaskResult(task=name, phase="grade", cases=cases, mistake=mistake)


def submission(username, failing=(), mistake=""):
    """Every task passed but ``failing``, which fail with ``mistake``."""
    return SubmissionResult(username, f"h-{username}", tuple(
        task(t.name, results.OK, results.MISMATCH, mistake=mistake) if t.name in failing
        else task(t.name, results.OK) for t in tasks.TASKS))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A class of four graded on every task (the widest table): report.html and feedback/."""
    out = tmp_path_factory.mktemp("grading")
    roster = [Student("ada", "Ada <b>Lovelace</b>", "ada@example.org"), Student("ben", "Ben"),
              Student("cy", "Cy"), Student("dee", "Dee")]
    class_results = {"ada": submission("ada"),
                     "ben": submission("ben", failing={"conv_matrix", "box_blur"}, mistake=FLIP),
                     "cy": submission("cy", failing={"dense_forward"})}
    points = exports.points_for(tasks.TASKS)
    path = exports.write_class_report(out / "report.html", students=roster,
                                      results=class_results, points=points)
    exports.write_feedback(out / "feedback", students=roster, results=class_results,
                           points=points)
    return path


@pytest.fixture(scope="module")
def browser():
    """Headless chromium through chromedriver, or a skip that says what to install."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium "
                                    "(requirements-lock.txt)")
    from selenium.webdriver.chrome.service import Service
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("no chromium/chromedriver on PATH: apt-get install -y chromium "
                    "chromium-driver (.ci/run does, as root)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ARGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture
def page(browser, report):
    browser.get(report.as_uri())
    return browser


def usernames(driver):
    from selenium.webdriver.common.by import By
    return [row.get_attribute("data-username")
            for row in driver.find_elements(By.CSS_SELECTOR, "#students tbody tr")]


def heading(driver, table, text):
    from selenium.webdriver.common.by import By
    return next(button for button in driver.find_elements(By.CSS_SELECTOR,
                                                          f"#{table} thead th button")
                if button.text == text)


def test_the_page_loads_offline_with_its_plots_and_no_error(page):
    from selenium.webdriver.common.by import By
    assert page.title == "Class report"
    images = page.find_elements(By.TAG_NAME, "img")
    assert len(images) == 2
    assert all(page.execute_script("return arguments[0].naturalWidth", image) > 300
               for image in images)
    assert [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"] == []
    assert "Ada <b>Lovelace</b>" in page.find_element(By.ID, "students").text  # shown as text


def test_a_click_on_a_heading_sorts_the_students(page):
    assert usernames(page) == ["ada", "ben", "cy", "dee"]
    heading(page, "students", "score").click()
    assert usernames(page) == ["dee", "ben", "cy", "ada"]  # 0, 14, 15, 16 points
    assert heading(page, "students", "score").find_element(
        "xpath", "..").get_attribute("aria-sort") == "ascending"
    heading(page, "students", "score").click()
    assert usernames(page) == ["ada", "cy", "ben", "dee"]
    heading(page, "students", "conv_matrix").click()
    assert usernames(page)[:2] == ["ben", "dee"]  # failed, then no submission
    heading(page, "students", "student").click()
    assert usernames(page) == ["ada", "ben", "cy", "dee"]


def test_the_tasks_table_sorts_and_counts_mistakes(page):
    from selenium.webdriver.common.by import By
    row = page.find_element(By.CSS_SELECTOR, '#tasks tr[data-task="conv_matrix"]')
    assert row.text.endswith("67% 1 x true convolution (kernel flipped)")
    heading(page, "tasks", "pass rate").click()
    first = page.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")[:3]
    assert {r.get_attribute("data-task") for r in first} == {"dense_forward", "conv_matrix",
                                                               "box_blur"}


def test_a_failed_cell_says_why_on_hover(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    cell = page.find_element(By.CSS_SELECTOR,
                             '#students tr[data-username="ben"] td[data-task="conv_matrix"]')
    ActionChains(page).move_to_element(cell).perform()
    assert cell.text == "\u2717" and cell.get_attribute("class") == "fail"
    assert cell.get_attribute("title") == (
        "conv_matrix failed:\n1 of 2 cases failed.\nFirst failure: values differ at [0, 1]\n"
        f"Recognised mistake: {FLIP}")
    assert cell.value_of_css_property("cursor") == "help"


def test_a_username_opens_the_feedback_as_a_readable_page(page, report):
    from selenium.webdriver.common.by import By
    page.find_element(By.LINK_TEXT, "ben").click()
    assert page.current_url == (report.parent / "feedback" / "ben.html").as_uri()
    assert page.find_element(By.TAG_NAME, "h1").text == "Feedback for Ben (ben)"
    headings = [h.text for h in page.find_elements(By.TAG_NAME, "h2")]
    assert "[MAN] conv_matrix: failed (0 / 1 points)" in headings
    text = page.find_element(By.TAG_NAME, "body").text
    assert "Recognised mistake: " + FLIP in text and "\\" not in text and "&lt;" not in text
    assert [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_a_click_on_a_failed_mark_shows_why(page):
    """No hover needed (a phone has none): the mark links to the reason, on the page."""
    from selenium.webdriver.common.by import By
    cell = page.find_element(By.CSS_SELECTOR,
                             '#students tr[data-username="ben"] td[data-task="box_blur"]')
    cell.find_element(By.TAG_NAME, "a").click()
    assert page.current_url.endswith("#why-ben-box_blur")
    why = page.find_element(By.ID, "why-ben-box_blur")
    assert why.text.startswith("ben: [MAN] box_blur\n1 of 2 cases failed.")
    assert FLIP in why.text
    top = page.execute_script("return arguments[0].getBoundingClientRect().top", why)
    assert 0 <= top < page.execute_script("return window.innerHeight")  # scrolled into view


def _emulate(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


@pytest.mark.parametrize("width", [390, 1280])
def test_the_report_and_the_feedback_read_at_a_phones_and_a_laptops_width(browser, report, width,
                                                                           tmp_path):
    """The page never scrolls sideways; the students table scrolls in its own box when it
    must (a phone), and fits as it is on a laptop. Screenshots: tmp_path (or $SCREENSHOTS)."""
    import os
    shots = Path(os.environ.get("SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    _emulate(browser, width, 844)
    try:
        for url in (report.as_uri(), (report.parent / "feedback" / "ben.html").as_uri()):
            browser.get(url)
            inner, scroll = browser.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            assert inner == width and scroll <= width, url
            browser.save_screenshot(str(shots / f"{width}-{Path(url).stem}.png"))
        browser.get(report.as_uri())
        box = browser.execute_script("var b = document.querySelector('#students').parentNode;"
                                     "return [b.className, b.clientWidth, b.scrollWidth]")
        assert box[0] == "scroll" and box[1] <= width
        assert (box[2] > box[1]) is (width == 390)  # scrolls in its box on a phone only
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_students_table_fits_the_window(page):
    width, scroll = page.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]")
    assert width == 1280 and scroll <= width
    table = page.execute_script(
        "return document.getElementById('students').getBoundingClientRect().right")
    assert table <= width
