"""Whether headless Chromium can be driven here (Selenium with the OS's chromedriver), and why not."""

from __future__ import annotations

import importlib.util
import shutil

REQUIRE_BROWSER_VAR = "SHEPARD_REQUIRE_BROWSER"
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    """Return the path of the OS's Chromium, or None when it is not installed."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def browser_unavailable_reason() -> str | None:
    """Return why no browser test can run here, or None when Chromium, chromedriver and Selenium are there."""
    if chromium_path() is None:
        return "no chromium on PATH (apt-get install chromium)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed"
    return None
