"""A local flock, `shepard ui` serving it, headless Chromium driven by Selenium (the OS's chromedriver)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The integration tests' helpers start and stop a local flock with the real `shepard local` CLI.
sys.path.insert(0, str(ROOT / "tests-integration"))
sys.path.insert(0, str(Path(__file__).parent))

from flock_testkit import EXAMPLES, Flock, flock_down, flock_up, shepard_command  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

SCREENSHOTS_VAR = "SHEPARD_SCREENSHOTS"
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=[\w-]+")


@pytest.fixture(scope="session")
def flock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flock]:
    """A local flock running four jobs at a time, the quick-deploy example uploaded."""
    work = tmp_path_factory.mktemp("shepard-ui")
    running = flock_up(work, prefix="shepard-ui", window_seconds=None)
    running.cli("local", "quick-deploy", str(EXAMPLES / "hello-quick-deploy" / "hello"))
    yield running
    flock_down(running)
    shutil.rmtree(work, ignore_errors=True)


class UiServer:
    """A running `shepard ui`: the URL it printed (with its token) and its origin."""

    def __init__(self, url: str, origin: str, process: subprocess.Popen[str]) -> None:
        """Hold the URL, its origin and the server's process."""
        self.url = url
        self.origin = origin
        self.process = process


@pytest.fixture(scope="session")
def ui(flock: Flock) -> Iterator[UiServer]:
    """`shepard --profile local ui` on a free port; stopped with Ctrl-C (SIGINT) at the end."""
    process = subprocess.Popen(  # noqa: S603 - a fixed argument list
        [*shepard_command(), "--profile", "local", "ui"],
        env=flock.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    found = URL_LINE.search(first)
    if found is None:
        process.kill()
        pytest.fail(f"shepard ui printed no URL: {first}{process.communicate()[1]}")
    yield UiServer(found.group(0), found.group(1), process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder screenshots are saved in: $SHEPARD_SCREENSHOTS, else a temporary folder (printed)."""
    folder = Path(os.environ.get(SCREENSHOTS_VAR) or tempfile.mkdtemp(prefix="shepard-ui-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")  # noqa: T201 - where to look
    return folder


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the browser saves downloads in."""
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(downloads: Path):
    """Headless Chromium from the OS packages, driven through the OS's chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from shepard_testing._browser import chromium_path

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium_path())
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    service = Service(executable_path=shutil.which("chromedriver"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    yield browser
    browser.quit()
