"""Debian's Chromium driven by Selenium, for the review page's tests and scripts/bench_review.py.

Only /usr/bin/chromium and /usr/bin/chromedriver: nothing downloads a browser
(Selenium Manager is not asked, since the driver's path is given).
"""
from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists() and shutil.which("chromium") is not None


def chromium(user_data_dir: str | Path, size: tuple[int, int] = (1400, 900)):
    """A headless Chromium with a fresh profile in user_data_dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={user_data_dir}", f"--window-size={size[0]},{size[1]}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
