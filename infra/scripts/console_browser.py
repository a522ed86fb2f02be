"""The admin console in a real browser (infra/scripts/browser-checks.sh runs it).

    console_browser.py <base URL> <file holding the dev admin key> <output dir>

Headless Debian chromium through its chromedriver: log in with the dev key, create a game and a
task in the console, award points through the API, see them in the user view, the charts and
the live feed, run a failing custom-strategy validation and see the error on the failing node,
start an export and download it, look at the dashboard, and at a phone's width. A failing step
saves a screenshot (failure-<step>.png) in the output directory, as every step's does.
"""

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, KEY_FILE, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
with open(KEY_FILE, encoding="utf-8") as f:
    KEY = f.read().strip()
DOWNLOADS = os.path.join(OUT, "downloads")
os.makedirs(DOWNLOADS, exist_ok=True)
RUN = uuid.uuid4().hex[:8]
STARTED = time.monotonic()


def api(method, path, body=None):
    """One call to the API with the dev key; answers (status, parsed body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + "/api/v1" + path, data=data, method=method)
    req.add_header("X-API-Key", KEY)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read().decode()
            return res.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def chrome():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,800",
    ]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": DOWNLOADS,
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    # The Debian driver, named: Selenium Manager would otherwise try to download one.
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


driver = chrome()
wait = WebDriverWait(driver, 15)
step_name = "start"
passed = 0


def step(name):
    global step_name, passed
    if step_name != "start":
        passed += 1
    step_name = name
    print(f"console: {name}", file=sys.stderr)


def shot(name):
    driver.save_screenshot(os.path.join(OUT, f"{name}.png"))


def go(hash_):
    driver.get(BASE + "/admin" + hash_)


def heading(text):
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "main h2"), text))


def css(selector):
    return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))


def chart_table(title):
    """The rows of the data table beside chart `title`, as lists of cell texts."""
    table = css(f'table[data-chart="{title}"]')
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    return [[td.get_attribute("textContent") for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]


def canvas_of(title):
    fig = css(f'figure[aria-label="{title}"]')
    return fig.find_elements(By.TAG_NAME, "canvas")


try:
    step("log in with the dev key")
    go("")
    css("#credential").send_keys(KEY)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    heading("Games")
    # The credential is in session storage, and nowhere in the address.
    assert KEY not in driver.current_url
    stored = driver.execute_script("return sessionStorage.getItem('game-console-credential')")
    assert KEY in stored, "the key is kept in session storage"
    assert driver.execute_script("return localStorage.length") == 0
    shot("console-login")

    step("keyboard: focus moves to the view's heading; the skip link is first in tab order")
    active = driver.switch_to.active_element
    assert active.tag_name == "h2" and active.text == "Games", active.get_attribute("outerHTML")
    first = driver.execute_script("return document.querySelector('a[href], button, input, select, textarea').className")
    assert first == "skip", first
    # Tab from the heading reaches the first control of the view.
    active.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("name") == "externalGameId"

    step("create a game")
    game_ext = f"console-{RUN}"
    css('form[aria-label="Create a game"] input[name=externalGameId]').send_keys(game_ext)
    Select(driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Create a game"] select')).select_by_value("default")
    driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Create a game"] button').click()
    heading("Game " + game_ext)
    game_id = driver.current_url.split("#/games/")[1]
    eff = css('table[aria-label="Effective variables"]').text
    assert "variable_" in eff, eff

    step("create a task")
    css('form[aria-label="Create a task"] input[name=externalTaskId]').send_keys("t1")
    driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Create a task"] button').click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, 'table[aria-label="Tasks"]'), "t1"))
    shot("console-game")

    step("award points through the API (the game has a ladder)")
    status, body = api("PUT", f"/games/{game_id}/levels",
                       {"metric": "points", "levels": [{"level": 1, "name": "Rookie", "threshold": 1}]})
    assert status == 200, (status, body)
    for user in ["alice", "alice", "alice", "bob"]:
        status, body = api("POST", f"/games/{game_id}/tasks/t1/points", {"externalUserId": user})
        assert status == 200, (status, body)
    status, alice = api("GET", "/users/alice/points")
    assert status == 200, (status, alice)
    alice_points = sum(
        p["points"] for g in alice if g["externalGameId"] == game_ext for t in g["task"] for p in t["points"]
    )
    assert alice_points > 0, alice

    step("the user view shows them, in the table and the chart")
    go("#/users/alice")
    heading("User alice")
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#user-points"), game_ext))
    row = [r for r in chart_table("Points per task") if r[0] == f"{game_ext} / t1"]
    assert row and float(row[0][1]) == alice_points, (row, alice_points)
    assert canvas_of("Points per task"), "uPlot drew the chart"
    wallet = css("#wallet").text
    assert wallet, wallet
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#user-progression"), game_ext))
    progression = css("#user-progression").text
    assert "1 (Rookie)" in progression, progression
    shot("console-user")

    step("the game view shows its leaderboard, alice first")
    go(f"#/games/{game_id}")
    heading("Game " + game_ext)
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#leaderboards"), "alice"))
    board = driver.find_elements(By.CSS_SELECTOR, 'table[aria-label="Leaderboard points"] tbody tr')
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in board] == ["alice", "bob"], [r.text for r in board]

    step("the game's charts count the awards")
    go(f"#/games/{game_id}/charts")
    heading("Charts: " + game_ext)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert chart_table("Awards per day") == [[today, "4"]], chart_table("Awards per day")
    groups = {r[0]: r[1] for r in chart_table("Participation per user group")}
    assert groups["1 award"] == "1" and groups["2–4 awards"] == "1", groups
    assert canvas_of("Awards per day") and canvas_of("Points per case name")
    shot("console-charts")

    step("the live feed picks up a new award")
    go(f"#/games/{game_id}/feed")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed tbody tr")) == 4)
    status, body = api("POST", f"/games/{game_id}/tasks/t1/points", {"externalUserId": "carol"})
    assert status == 200, (status, body)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed tbody tr")) == 5)
    assert "carol" in css("#feed tbody tr").text
    shot("console-feed")

    step("a failing custom-strategy validation marks the failing node")
    go("#/strategies/new")
    heading("New custom strategy")
    bad = {
        "type": "program",
        "rules": [
            {
                "type": "rule",
                "when": {"type": "literal", "value": True},
                "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "A"}],
            },
            {
                "type": "rule",
                "when": {"type": "compare", "op": "~", "left": {"type": "literal", "value": 1},
                         "right": {"type": "literal", "value": 2}},
                "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "B"}],
            },
        ],
    }
    area = css("textarea[name=astJson]")
    driver.execute_script("arguments[0].value = arguments[1]", area, json.dumps(bad, indent=2))
    driver.find_element(By.XPATH, "//button[text()='Validate']").click()
    failed = css("li[data-node-id] > .node.failed")
    node = failed.find_element(By.XPATH, "..")
    assert node.get_attribute("data-node-id") == "n.rules.1.when", node.get_attribute("data-node-id")
    assert failed.text.startswith("when: compare"), failed.text
    assert "DSL_COMPARE_OP_NOT_ALLOWED" in failed.text, failed.text
    assert len(driver.find_elements(By.CSS_SELECTOR, ".node.failed")) == 1
    assert "n.rules.1.when" in css("#strategy-result").text
    shot("console-strategy-error")

    status, history = api("GET", "/exports/history")
    if status == 404:
        print("console: no /exports routes in this build: export and dashboard steps skipped", file=sys.stderr)
    else:
        step("start an export and download it")
        go("#/exports")
        heading("Exports")
        Select(css("select[name=dataset]")).select_by_value("user-points")
        Select(css("select[name=format]")).select_by_value("csv")
        driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Start an export"] button').click()
        link = css("#export-download")
        filename = link.get_attribute("download")
        path = os.path.join(DOWNLOADS, filename)
        deadline = time.monotonic() + 15
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.2)
        with open(path, encoding="utf-8") as f:
            csv = f.read()
        assert csv.count("alice") == 3 and "carol" in csv, csv[:500]
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#export-history"), "completed"))
        shot("console-exports")

        step("the dashboard summary as charts")
        go("#/dashboard")
        heading("Dashboard")
        css('figure[aria-label="Awards per day"] canvas')
        rows = chart_table("Awards per day")
        assert [today, "5"] in rows, rows
        shot("console-dashboard")

    step("a phone's width")
    driver.set_window_size(390, 844)
    go(f"#/games/{game_id}/charts")
    heading("Charts: " + game_ext)
    css('figure[aria-label="Awards per day"] canvas')
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the phone"
    shot("console-phone")
    step("done")
except Exception:
    shot(f"failure-{step_name.replace(' ', '-').replace(':', '')[:40]}")
    driver.quit()
    print(f"console: FAILED at '{step_name}' (screenshot in {OUT})", file=sys.stderr)
    raise
driver.quit()
print(f"console browser test: {passed} passed, 0 failed ({time.monotonic() - STARTED:.1f} s)")
