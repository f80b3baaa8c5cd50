"""Stepper.save_html: one self-contained page, driven in a real headless Chromium at projector sizes.

Screenshots land in ``tmp_path``; set MGX_SCREENSHOTS=DIR to keep them (the README's picture
comes from such a run).
"""

import os
import re
import shutil
import tempfile

import pytest

from microgradx.viz import Stepper
from _shared import lecture_graph, lecture_network

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing_tools():
    missing = [name for name, path in (("dot", shutil.which("dot")), ("chromium", CHROMIUM),
                                       ("chromedriver", CHROMEDRIVER)) if not (path and os.path.exists(path))]
    return missing


needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the graphviz 'dot' program is not installed (apt-get install graphviz)")


@needs_dot
def test_page_is_self_contained_with_one_drawing(tmp_path):
    path = Stepper(lecture_graph()).save_html(tmp_path / "f.html")
    text = open(path, encoding="utf-8").read()
    assert text.count("<svg") == 1
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


SIZES = [(1024, 768), (1920, 1080)]


def open_page(browser, path, size, frame=None):
    width, height = size
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    browser.get("file://" + os.path.abspath(path) + ("" if frame is None else f"#{frame}"))
    browser.execute_script("window.mgxStepper.fit()")


def console_errors(browser):
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def box_rects(browser):
    return browser.execute_script(
        "var out = {}; document.querySelectorAll('g.node').forEach(function (g) {"
        "  var r = g.getBoundingClientRect(); out[g.id] = [r.x, r.y, r.width, r.height]; });"
        "return out;")


def counter(browser):
    return browser.find_element("id", "counter").text


def shoot(browser, tmp_path, name):
    folder = os.environ.get("MGX_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    browser.save_screenshot(path)
    return path


@pytest.mark.browser
@pytest.mark.parametrize("size", SIZES, ids=["1024x768", "1920x1080"])
@pytest.mark.parametrize("graph", [lecture_graph, lecture_network], ids=["lecture", "network"])
def test_boxes_stay_put_and_the_page_fits_the_window(browser, tmp_path, size, graph):
    stepper = Stepper(graph())
    path = stepper.save_html(tmp_path / "page.html")
    open_page(browser, path, size, frame=0)
    first = box_rects(browser)
    shoot(browser, tmp_path, f"{graph.__name__}-{size[0]}x{size[1]}-first.png")
    browser.execute_script("window.mgxStepper.show(arguments[0])", len(stepper) - 1)
    last = box_rects(browser)
    shoot(browser, tmp_path, f"{graph.__name__}-{size[0]}x{size[1]}-last.png")
    assert first == last and len(first) == len(stepper.order)
    fits = browser.execute_script(
        "var v = document.getElementById('view').getBoundingClientRect();"
        "var s = document.querySelector('#canvas svg').getBoundingClientRect();"
        "return [document.documentElement.scrollWidth <= innerWidth,"
        "        document.documentElement.scrollHeight <= innerHeight,"
        "        s.left >= v.left - 1 && s.right <= v.right + 1 && s.top >= v.top - 1 && s.bottom <= v.bottom + 1];")
    assert fits == [True, True, True]
    assert console_errors(browser) == []


@pytest.mark.browser
def test_lecture_network_text_is_readable_on_a_1024x768_projector(browser, tmp_path):
    path = Stepper(lecture_network()).save_html(tmp_path / "network.html")
    open_page(browser, path, (1024, 768), frame=20)
    heights = browser.execute_script(
        "return Array.from(document.querySelectorAll('g.node text')).map(function (t) {"
        "  return t.getBoundingClientRect().height; });")
    shoot(browser, tmp_path, "network-1024x768-frame20.png")
    assert heights and min(heights) >= 14


@pytest.mark.browser
def test_deep_link_opens_a_frame_and_the_address_follows(browser, tmp_path):
    stepper = Stepper(lecture_graph())
    path = stepper.save_html(tmp_path / "f.html")
    open_page(browser, path, (1024, 768), frame=5)
    assert counter(browser) == "frame 5 / 6"
    assert browser.find_element("id", "caption").text == stepper.caption(5)
    browser.find_element("id", "next").click()
    assert browser.execute_script("return location.hash") == "#6"
    browser.execute_script("location.hash = '#3'")
    assert counter(browser) == "frame 3 / 6"


@pytest.mark.browser
def test_keys_step_through_every_frame(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    stepper = Stepper(lecture_graph())
    open_page(browser, stepper.save_html(tmp_path / "f.html"), (1024, 768), frame=0)
    body = browser.find_element("tag name", "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert counter(browser) == "frame 1 / 6"
    body.send_keys(Keys.END)
    assert counter(browser) == "frame 6 / 6"
    body.send_keys(Keys.ARROW_LEFT)
    assert counter(browser) == "frame 5 / 6"
    body.send_keys(Keys.HOME)
    assert counter(browser) == "frame 0 / 6"
    body.send_keys(Keys.ARROW_LEFT)
    assert counter(browser) == "frame 0 / 6"


@pytest.mark.browser
def test_each_frame_shows_what_the_stepper_says(browser, tmp_path):
    stepper = Stepper(lecture_graph())
    open_page(browser, stepper.save_html(tmp_path / "f.html"), (1024, 768), frame=0)
    for k in range(len(stepper)):
        browser.execute_script("window.mgxStepper.show(arguments[0])", k)
        state = stepper.state(k)
        shown = browser.execute_script(
            "var out = {}; document.querySelectorAll('text.grad').forEach(function (t) {"
            "  if (!t.classList.contains('hidden')) { out[t.id] = t.textContent; } });"
            "var cur = Array.from(document.querySelectorAll('g.node.current')).map(function (g) {"
            "  return g.id; }).sort();"
            "var lit = Array.from(document.querySelectorAll('g.edge.lit')).map(function (g) {"
            "  return g.id; }).sort();"
            "return [out, cur, lit];")
        assert shown == [state.grads, sorted(state.current), sorted(state.lit)], f"frame {k}"
        assert browser.find_element("id", "caption").text == stepper.caption(k)
    # in the last frame the active edge points the way the gradient flows: tail shown, head hidden
    arrows = browser.execute_script(
        "var g = document.querySelector('g.edge.lit');"
        "return [getComputedStyle(g.querySelector('.tail')).display,"
        "        getComputedStyle(g.querySelector('.head')).display];")
    assert arrows == ["inline", "none"]


@pytest.mark.browser
def test_zoom_buttons_wheel_fit_and_presenter_mode(browser, tmp_path):
    open_page(browser, Stepper(lecture_network()).save_html(tmp_path / "n.html"), (1024, 768), frame=0)
    scale = lambda: browser.execute_script("return window.mgxStepper.scale()")  # noqa: E731
    fitted = scale()
    browser.find_element("id", "zoom-in").click()
    assert scale() == pytest.approx(fitted * 1.25)
    browser.find_element("id", "zoom-out").click()
    browser.find_element("id", "zoom-out").click()
    assert scale() == pytest.approx(fitted * 0.8)
    browser.execute_script(
        "document.getElementById('view').dispatchEvent(new WheelEvent('wheel',"
        " {deltaY: -100, clientX: 300, clientY: 300, bubbles: true, cancelable: true}));")
    assert scale() == pytest.approx(fitted * 0.8 * 1.15)
    browser.find_element("id", "fit").click()
    assert scale() == pytest.approx(fitted)
    normal = browser.execute_script("return parseFloat(getComputedStyle(caption).fontSize)")
    browser.find_element("id", "presenter").click()
    big = browser.execute_script("return parseFloat(getComputedStyle(caption).fontSize)")
    assert big >= 1.5 * normal
    shoot(browser, tmp_path, "network-presenter.png")
    assert console_errors(browser) == []


@pytest.mark.browser
def test_zoomed_in_the_page_follows_the_active_node(browser, tmp_path):
    stepper = Stepper(lecture_network())
    open_page(browser, stepper.save_html(tmp_path / "n.html"), (1024, 768), frame=0)
    for _ in range(8):
        browser.find_element("id", "zoom-in").click()
    browser.execute_script("window.mgxStepper.show(arguments[0])", len(stepper) - 1)
    inside = browser.execute_script(
        "var v = document.getElementById('view').getBoundingClientRect();"
        "return Array.from(document.querySelectorAll('g.node.current')).every(function (g) {"
        "  var r = g.getBoundingClientRect();"
        "  return r.right > v.left && r.left < v.right && r.bottom > v.top && r.top < v.bottom; });")
    assert inside
