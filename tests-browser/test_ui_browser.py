"""`shepard ui` in headless Chromium against a local flock: batch, follow, log, download, cancel, escaping."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from shepard_core import GROUP_INDEX

if TYPE_CHECKING:
    from conftest import UiServer
    from flock_testkit import Flock

pytestmark = pytest.mark.requires_browser

SCRIPT = "<script>alert(1)</script>"
JOB_SECONDS = 120


def _wait(driver: Any, condition: Any, timeout: float = 30, what: str = "") -> Any:
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        pytest.fail(f"timed out after {timeout} s waiting for {what}: {driver.current_url}\n{_body(driver)}")


def _body(driver: Any) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def _job_folder(tmp_path: Path, name: str, inputs: dict[str, str] | bytes) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    text = inputs if isinstance(inputs, bytes) else json.dumps(inputs).encode()
    (folder / "inputs.txt").write_bytes(text)
    (folder / "words.txt").write_text("one two three\n")
    return folder


def _batch_folder(driver: Any, ui: UiServer, folder: Path) -> None:
    driver.get(f"{ui.origin}/batch")
    driver.find_element(By.ID, "folder").send_keys(str(folder))
    _wait(driver, lambda d: "Folder:" in d.find_element(By.ID, "chosen").text, what="the folder to be chosen")
    driver.find_element(By.ID, "send").click()
    _wait(driver, lambda d: d.find_element(By.ID, "result-title").text, what="the batch's answer")


def _batched_job(driver: Any, ui: UiServer, folder: Path) -> str:
    """Batch `folder` on the New batch page, open the job it made, and return the job's UUID."""
    _batch_folder(driver, ui, folder)
    assert driver.find_element(By.ID, "result-title").text.startswith("Batched 1 job"), _body(driver)
    driver.find_element(By.CSS_SELECTOR, "#result-list a").click()
    status = _wait(driver, lambda d: d.find_elements(By.ID, "job-status"), what="the Job page")[0]
    return str(status.get_attribute("data-uuid"))


def _wait_for_status(driver: Any, group: str, timeout: float) -> None:
    """Wait until the Job page (which reloads itself when the job ends) shows `group`."""
    _wait(
        driver,
        lambda d: d.find_element(By.ID, "job-status").text.startswith(group),
        timeout=timeout,
        what=f"the job to be {group}",
    )


def _no_alert(driver: Any) -> None:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    pytest.fail(f"an alert fired: {text}")


def test_a_request_without_the_token_is_refused(driver, ui):
    """Without the printed URL's token (no cookie yet) the app answers 403 and shows nothing of the flock."""
    driver.delete_all_cookies()
    driver.get(f"{ui.origin}/jobs")
    assert "Forbidden" in _body(driver)
    driver.get(ui.url)
    assert driver.current_url == f"{ui.origin}/"
    assert "Overview" in driver.title


def test_a_bad_inputs_txt_shows_its_error_and_uploads_nothing(driver, ui, flock, tmp_path, screenshots):
    """An inputs.txt that is not a JSON object is refused on the page; the inputs bucket stays empty."""
    bucket = flock.state.names.inputs_bucket
    assert flock.keys(bucket) == []
    _batch_folder(driver, ui, _job_folder(tmp_path, "badjob", b'["not", "an", "object"]'))
    assert driver.find_element(By.ID, "result-title").text == "Nothing was uploaded"
    problems = driver.find_element(By.ID, "result-list").text
    assert "badjob/inputs.txt" in problems
    assert "JSON object" in problems
    driver.save_screenshot(str(screenshots / "new-batch-refused.png"))
    assert flock.keys(bucket) == []


@pytest.fixture(scope="module")
def finished_job(driver, ui, tmp_path_factory):
    """A job folder batched on the New batch page and watched on its Job page until it ends."""
    folder = _job_folder(tmp_path_factory.mktemp("jobs"), "greeting", {"QUICK_DEPLOY_DIRECTORY": "hello",
                         "NAME": "browser", "TAG": "ui-test"})  # fmt: skip
    uuid = _batched_job(driver, ui, folder)
    _wait_for_status(driver, "complete", JOB_SECONDS)
    return uuid


def test_drop_a_job_folder_and_see_it_complete(driver, ui, finished_job, screenshots):
    """The job batched from the page runs; its page follows it, live, to complete, with its output zip."""
    driver.get(f"{ui.origin}/jobs/{finished_job}")
    assert driver.find_element(By.ID, "job-status").text.startswith("complete")
    assert "NAME\nbrowser" in driver.find_element(By.CSS_SELECTOR, ".inputs").text.replace(" ", "\n")
    assert driver.find_elements(By.CSS_SELECTOR, "a.download.outputs")
    driver.save_screenshot(str(screenshots / "job-complete.png"))


def test_open_its_log(driver, ui, finished_job, screenshots):
    """The Job page shows the job's log, as its payload wrote it."""
    driver.get(f"{ui.origin}/jobs/{finished_job}")
    _wait(driver, lambda d: "Hello, browser!" in d.find_element(By.ID, "log").text, what="the log")
    assert f"job {finished_job} starting" in driver.find_element(By.ID, "log").text
    driver.execute_script("document.getElementById('log').scrollIntoView()")
    driver.save_screenshot(str(screenshots / "job-log.png"))


def test_download_its_output_zip(driver, ui, finished_job, downloads):
    """The output zip downloaded from the Job page holds what the payload wrote."""
    driver.get(f"{ui.origin}/jobs/{finished_job}")
    link = driver.find_element(By.CSS_SELECTOR, "a.download.outputs")
    name = link.find_element(By.XPATH, "../..").find_element(By.TAG_NAME, "td").text
    link.click()
    target = downloads / name
    _wait(
        driver, lambda _: target.is_file() and not Path(f"{target}.crdownload").exists(), what="the download"
    )
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        members = set(archive.namelist())
        assert archive.read("greeting.txt") == b"Hello, browser!\n"
    assert "inputs-listing.txt" in members


def _queued_job(flock: Flock, keys: set[str]) -> str | None:
    """Return the UUID of a job of `keys` still queued in Batch while four others' payloads run."""
    rows = list(flock.rows_for(keys).values())
    if sum(row["JOB_STATUS"] == "calling_payload_code" for row in rows) < 4:
        return None
    for row in rows:
        job = flock.executor_job_of(row["UUID"]) if row["JOB_STATUS"] == "submitted" else None
        if job is not None and job["status"] == "RUNNABLE" and not job["attempts"]:
            return str(row["UUID"])
    return None


def test_cancel_a_waiting_job(driver, ui, flock, screenshots):
    """A job waiting behind four running ones is cancelled from its page and ends failed, never having run."""
    keys = {f"ui-cancel/{n}.zip" for n in range(5)}
    for key in sorted(keys):
        flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "SLEEP_SECONDS": "30", "NAME": key})
    uuid = flock.wait_for(lambda: _queued_job(flock, keys), timeout=90, what="a job waiting for a slot")
    driver.get(f"{ui.origin}/jobs/{uuid}")
    driver.find_element(By.ID, "cancel").click()
    _wait(driver, expected_conditions.alert_is_present(), what="the confirmation").accept()
    _wait(driver, lambda d: "Cancelled job" in d.find_element(By.ID, "action-result").text, what="the answer")
    driver.save_screenshot(str(screenshots / "job-cancelled.png"))
    _wait_for_status(driver, "failed", JOB_SECONDS)
    assert "Cancelled with shepard cancel" in _body(driver)
    for row in flock.rows_for(keys).values():
        if row["UUID"] != uuid:
            flock.cli("--profile", "local", "cancel", str(row["UUID"]), check=False)


def test_a_script_in_inputs_shows_as_text(driver, ui, tmp_path, screenshots):
    """A job whose inputs and TAG hold <script> shows them as text on its page and the overview; no alert."""
    folder = _job_folder(
        tmp_path, "scripted", {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": SCRIPT, "TAG": SCRIPT}
    )
    _batched_job(driver, ui, folder)
    assert SCRIPT in driver.find_element(By.CSS_SELECTOR, ".inputs").text
    _wait_for_status(driver, "complete", JOB_SECONDS)
    _wait(driver, lambda d: f"Hello, {SCRIPT}!" in d.find_element(By.ID, "log").text, what="the log")
    _no_alert(driver)
    driver.save_screenshot(str(screenshots / "job-script-as-text.png"))


def test_a_failed_job_runs_again_from_its_page(driver, ui, tmp_path, screenshots):
    """A failed job shows its error zip; Run again makes a new job from the same upload, linked both ways."""
    inputs = {"QUICK_DEPLOY_DIRECTORY": "hello", "NAME": "again", "FAIL": "True"}
    uuid = _batched_job(driver, ui, _job_folder(tmp_path, "failing", inputs))
    _wait_for_status(driver, "failed", JOB_SECONDS)
    assert driver.find_elements(By.CSS_SELECTOR, "a.download.errors")
    driver.find_element(By.ID, "run-again").click()
    new_job = _wait(
        driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#action-result a"), what="the new job's link"
    )[0]
    new_uuid = new_job.get_attribute("href").rsplit("/", 1)[-1]
    assert new_uuid != uuid
    new_job.click()
    _wait_for_status(driver, "failed", JOB_SECONDS)
    assert f"Runs job {uuid} again." in _body(driver)
    assert "FAIL is True: failing on purpose" in driver.find_element(By.ID, "log").text or _wait(
        driver, lambda d: "failing on purpose" in d.find_element(By.ID, "log").text, what="the new run's log"
    )
    driver.save_screenshot(str(screenshots / "job-run-again.png"))
    driver.get(f"{ui.origin}/jobs/{uuid}")
    assert f"Run again as job {new_uuid}." in _body(driver)


@pytest.fixture
def listed(flock: Flock) -> None:
    """Skip unless the flock's table has the job-list indexes the Overview and Jobs pages read."""
    table = flock.client("dynamodb").describe_table(TableName=flock.state.names.table)["Table"]
    indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    if GROUP_INDEX not in indexes:
        pytest.skip(f"the local flock's table has no {GROUP_INDEX} index yet (its writers keep no counts)")


def test_the_jobs_page_lists_the_jobs_by_tag(driver, ui, listed, screenshots):
    """The Jobs page lists the jobs of a TAG, the <script> TAG's as text."""
    driver.get(f"{ui.origin}/jobs?tag=ui-test")
    assert "job_complete" in _body(driver)
    driver.save_screenshot(str(screenshots / "jobs.png"))
    driver.get(f"{ui.origin}/jobs?tag={SCRIPT}")
    assert SCRIPT in _body(driver)
    _no_alert(driver)


def test_the_overview_shows_the_flock(driver, ui, listed, screenshots):
    """The overview shows the counts of the jobs above, refreshed in place, per TAG too (script as text)."""
    driver.get(f"{ui.origin}/")
    _wait(driver, lambda d: d.find_element(By.ID, "count-complete").text not in {"", "0"}, what="counts")
    # One live refresh, so the rows looked at are the ones the page's script drew.
    first = driver.find_element(By.ID, "read-at").text
    _wait(driver, lambda d: d.find_element(By.ID, "read-at").text != first, what="a live refresh")
    tags = driver.find_element(By.ID, "tags").text
    assert SCRIPT in tags
    assert "ui-test" in tags
    _no_alert(driver)
    driver.save_screenshot(str(screenshots / "overview.png"))
