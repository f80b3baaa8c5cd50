"""Stepper.save_html: one self-contained page, driven in a real headless Chromium."""

import os
import re
import shutil
import tempfile

import pytest

from microgradx.viz import Stepper
from _shared import lecture_graph

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing_tools():
    missing = [name for name, path in (("dot", shutil.which("dot")), ("chromium", CHROMIUM),
                                       ("chromedriver", CHROMEDRIVER)) if not (path and os.path.exists(path))]
    return missing


needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the graphviz 'dot' program is not installed (apt-get install graphviz)")


@needs_dot
def test_page_is_self_contained(tmp_path):
    path = Stepper(lecture_graph()).save_html(tmp_path / "f.html")
    text = open(path, encoding="utf-8").read()
    assert text.count('<div class="frame"') == 8 and text.count("<svg") == 8
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=|https?://(?!www\.w3\.org)', text)


@needs_dot
def test_page_is_written_atomically_leaving_no_temp_files(tmp_path):
    Stepper(lecture_graph()).save_html(tmp_path / "f.html")
    Stepper(lecture_graph()).save_html(tmp_path / "f.html")
    assert sorted(os.listdir(tmp_path)) == ["f.html"]


@pytest.fixture(scope="module")
def browser():
    missing = _missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install graphviz chromium chromium-driver)")
    pytest.importorskip("selenium", reason="needs selenium (pip install -e '.[dev]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mgx-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def visible_frame(driver):
    frames = [f for f in driver.find_elements("css selector", ".frame") if f.is_displayed()]
    assert len(frames) == 1, f"expected exactly one visible frame, found {len(frames)}"
    return frames[0]


def svg_texts(frame):
    return [t.get_attribute("textContent") for t in frame.find_elements("css selector", "svg text")]


def highlighted_titles(frame):
    """The graphviz node ids (``n4``, ``n4op``) drawn in the highlight colour."""
    titles = []
    for node in frame.find_elements("css selector", "g.node"):
        if node.find_elements("css selector", '[fill="#ffd54f"]'):
            titles.append(node.find_element("css selector", "title").get_attribute("textContent"))
    return titles


@pytest.mark.browser
@pytest.mark.slow
def test_page_loads_without_console_errors_and_next_steps_backward(browser, tmp_path):
    stepper = Stepper(lecture_graph())
    path = stepper.save_html(tmp_path / "f.html")
    browser.get("file://" + os.path.abspath(path))
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []

    assert browser.find_element("id", "counter").text == "1 / 8"
    seed = len(stepper.forward_steps)          # frame 5: d f/d f = 1
    browser.execute_script(
        "var s = document.getElementById('slider'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));", seed)
    frame = visible_frame(browser)
    assert "grad 1.0000" in svg_texts(frame)
    assert "grad \u22124.0000" not in svg_texts(frame) and "grad -4.0000" not in svg_texts(frame)
    assert "n4" in highlighted_titles(frame)

    browser.find_element("id", "next").click()
    frame = visible_frame(browser)
    texts = [t.replace("\u2212", "-") for t in svg_texts(frame)]
    assert "grad -4.0000" in texts and "grad 3.0000" in texts      # d f/dq and d f/dz filled in
    assert texts.count("grad") == 2                                  # x and y still blank
    assert sorted(highlighted_titles(frame)) == ["n4", "n4op"]
    assert "df/dq += -4.0000" in browser.find_element("id", "caption").text

    browser.find_element("id", "next").click()
    frame = visible_frame(browser)
    texts = [t.replace("\u2212", "-") for t in svg_texts(frame)]
    assert texts.count("grad -4.0000") == 3 and "grad" not in texts  # x, y, q: every gradient known
    assert sorted(highlighted_titles(frame)) == ["n2", "n2op"]
    assert browser.find_element("id", "counter").text == "8 / 8"
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")] == []


@pytest.mark.browser
@pytest.mark.slow
def test_prev_steps_back_and_stops_at_the_first_frame(browser, tmp_path):
    path = Stepper(lecture_graph()).save_html(tmp_path / "f.html")
    browser.get("file://" + os.path.abspath(path))
    browser.find_element("id", "next").click()
    assert browser.find_element("id", "counter").text == "2 / 8"
    browser.find_element("id", "prev").click()
    browser.find_element("id", "prev").click()
    assert browser.find_element("id", "counter").text == "1 / 8"
    texts = [t.replace("\u2212", "-") for t in svg_texts(visible_frame(browser))]
    assert "-2.0000" in texts and "5.0000" not in texts   # frame 1: only x has its value
    assert browser.find_element("id", "caption").text.startswith("forward 1/5")
