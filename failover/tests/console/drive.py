#!/usr/bin/env python3
"""Drives `failover console` in Debian's headless Chromium through Selenium, as a person would:

    drive.py URL REGION_FROM REGION_TO SCREENSHOT [APP ...]

Loads the page (URL is the start-up URL with the console's secret: the page is then reached through
the cookie it sets), waits until every APP shows REGION_FROM as its active region, saves a screenshot, types
REGION_FROM as the confirmation and presses evacuate, waits until the run succeeded and every APP shows
REGION_TO, and saves the screenshot again (the artefact). Prints one JSON object with what it read:
{"before": {app: region}, "after": {app: region}, "run_state", "failed_requests", "probe_failed",
"audit_rows"} (audit_rows: the audit trail's rows the page shows after the run).
Exits non-zero with the reason when any wait runs out. Talks only to URL (loopback).
"""

import json
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select


def wait(what, check, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # the page re-renders every second: elements come and go
            last = e
        time.sleep(0.2)
    sys.exit(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def active(driver, apps):
    out = {}
    for app in apps:
        out[app] = driver.find_element(By.CSS_SELECTOR, f'tr[data-app="{app}"] td.active').text.strip()
    return out


def main():
    url, region_from, region_to, screenshot, *apps = sys.argv[1:]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,1000", f"--user-data-dir={tempfile.mkdtemp(prefix='console-chromium-')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        if "token=" in driver.current_url:
            sys.exit(f"the secret URL did not redirect to the clean URL: {driver.current_url}")
        before = wait("the active regions", lambda: (lambda a: a if all(v == region_from for v in a.values()) else None)(active(driver, apps)), 30)
        wait("the probe's first answers", lambda: driver.find_element(By.ID, "probe-failed").text, 30)
        wait("the readiness checks", lambda: all(driver.find_elements(By.CSS_SELECTOR, f'tr[data-app="{a}"] [data-standby]') for a in apps), 30)
        driver.save_screenshot(screenshot)
        Select(driver.find_element(By.ID, "evacuate-region")).select_by_value(region_from)
        driver.find_element(By.ID, "evacuate-confirm").send_keys(region_from)
        driver.find_element(By.ID, "evacuate-go").click()
        state = wait("the run's end", lambda: (lambda s: s if s not in ("", "running") else None)(
            driver.find_element(By.CSS_SELECTOR, "#runs tr[data-run]").get_attribute("data-state")), 60)
        after = wait("the new active regions", lambda: (lambda a: a if all(v == region_to for v in a.values()) else None)(active(driver, apps)), 30)
        time.sleep(1.5)  # a few more probe rounds on the timeline
        failed_requests = driver.find_element(By.CSS_SELECTOR, "#runs tr[data-run] td.failed-requests").text
        probe_failed = driver.find_element(By.ID, "probe-failed").text
        audit_rows = wait("the audit trail's rows", lambda: len(driver.find_elements(By.CSS_SELECTOR, '#audit tr[data-audit="applied"]')), 10)
        driver.save_screenshot(screenshot)
        print(json.dumps({"before": before, "after": after, "run_state": state,
                          "failed_requests": failed_requests, "probe_failed": probe_failed,
                          "audit_rows": audit_rows}))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
