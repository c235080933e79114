"""The similar-code evidence in a real headless browser (chromium through Selenium), offline.

A class is graded (``grade`` compares it too): report.html's section "Similar code" links
to each flagged pair's page; on the page both codes stand side by side at a laptop's width
(1280 px) and one above the other at a phone's (390 px), the page never scrolls sideways
(not even for a long line), the highlighted lines are visible as such, and the browser logs
nothing (a style or script the page's policy blocked would). Screenshots go to tmp_path (or
$SCREENSHOTS). Skipped, saying what is missing, without chromium and its driver.
"""

import os
from pathlib import Path

import pytest
from similarity_cases import CONV, comments_and_spacing, rename, write_class
from test_report_browser import _emulate, browser  # noqa: F401 - the fixture

from grader.cli import main

LONG = "    # " + "see_the_lecture_notes_" * 12 + "\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """ann, bob and dan share one solution (a group of three), cat wrote her own: OUT."""
    folder = tmp_path_factory.mktemp("similar")
    copy = rename(CONV["four_loops"]).replace("):\n", "):\n" + LONG, 1)
    write_class(folder / "subs", {
        "ann": {"conv_matrix": ("ann", CONV["four_loops"])},
        "bob": {"conv_matrix": ("ann", copy)},
        "dan": {"conv_matrix": ("ann", comments_and_spacing(CONV["four_loops"]))},
        "cat": {"conv_matrix": ("cat", CONV["im2col"])}})
    assert main(["grade", str(folder / "subs"), "--out", str(folder / "out")]) == 0
    return folder / "out"


def severe(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_report_lists_the_group_and_links_to_each_page(browser, graded):  # noqa: F811
    from selenium.webdriver.common.by import By
    browser.get((graded / "report.html").as_uri())
    section = browser.find_element(By.ID, "similarity")
    assert "3 students with similar code: ann, bob, dan" in section.text
    assert "cat" not in section.text
    links = section.find_elements(By.LINK_TEXT, "side by side")
    assert len(links) == 3
    target = links[0].get_attribute("href")
    links[0].click()
    assert browser.current_url == target and target.startswith(
        (graded / "similarity" / "conv_matrix").as_uri() + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Similar code in conv_matrix")
    assert "not a finding" in browser.find_element(By.CLASS_NAME, "note").text
    assert severe(browser) == []


def pair_page(graded, a, b):
    [path] = (graded / "similarity" / "conv_matrix").glob(f"{a}-*--{b}-*.html")
    return path.as_uri()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_reads_at_a_phones_and_a_laptops_width(browser, graded, width,  # noqa: F811
                                                         tmp_path):
    from selenium.webdriver.common.by import By
    shots = Path(os.environ.get("SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    _emulate(browser, width, 844)
    try:
        browser.get(pair_page(graded, "ann", "bob"))
        inner, scroll = browser.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]")
        assert inner == width and scroll <= width  # the long comment wraps
        long_line = browser.find_element(By.CSS_SELECTOR, '.side:last-child .line[data-line="2"]')
        assert "see_the_lecture_notes_" in long_line.text and long_line.size["height"] > 30
        sides = browser.find_elements(By.CLASS_NAME, "side")
        left, right = (side.rect for side in sides)
        if width == 1280:
            assert left["y"] == right["y"] and left["x"] + left["width"] <= right["x"]
        else:
            assert right["y"] >= left["y"] + left["height"]  # stacked
        hits = browser.find_elements(By.CSS_SELECTOR, ".line.hit")
        plain = browser.find_element(By.CSS_SELECTOR, ".line:not(.hit)")
        assert len(hits) >= 16  # ann's 11 lines of structure, and bob's
        colour = hits[0].value_of_css_property("background-color")
        assert colour != plain.value_of_css_property("background-color")
        assert all(hit.is_displayed() and hit.size["height"] > 0 for hit in hits)
        first = hits[0].rect
        assert first["x"] >= 0 and first["x"] + first["width"] <= width
        browser.save_screenshot(str(shots / f"similar-{width}.png"))
        assert severe(browser) == []
        browser.get((graded / "report.html").as_uri())
        section = browser.find_element(By.ID, "similarity")
        browser.execute_script("arguments[0].scrollIntoView()", section)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        browser.save_screenshot(str(shots / f"similar-report-{width}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
