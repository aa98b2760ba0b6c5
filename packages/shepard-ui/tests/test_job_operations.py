"""The Job page says why a job waits for AWS Batch and what an ended job cost, against moto server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from shepard_cli._price_book import AwsPrices, PriceBook
from shepard_cli._price_cache import PriceCache
from shepard_core import LOCAL_INSTANCE_TYPE, ON_DEMAND, JobRow, JobStatus
from shepard_ui import Flock, create_app
from starlette.testclient import TestClient
from ui_testkit import ORIGIN, PORT, Factory, job_row

DEAD_ENDPOINT = "http://127.0.0.1:9"
"""Nothing listens here: every call to it is refused."""
RUN_START_MS = 1_780_000_000_000


def submitted_row(flock, n: int, batch_job_id: str, ago: timedelta) -> JobRow:
    """Write a `submitted` row for the Batch job, submitted `ago` before now; return it."""
    row = job_row(
        n,
        JobStatus.SUBMITTED,
        batch_job_id=batch_job_id,
        submit_time=(datetime.now(UTC) - ago).isoformat(),
    )
    flock.write(row)
    return row


def ran_row(n: int, status: JobStatus = JobStatus.JOB_COMPLETE, **usage: Any) -> JobRow:
    """Return an ended row that ran for an hour, with `usage` (instance type, vCPUs, memory) recorded."""
    return job_row(n, status, run_started_ms=RUN_START_MS, run_ended_ms=RUN_START_MS + 3_600_000, **usage)


class PartlyRefused(Factory):
    """Makes moto-server clients, except for the services named, whose calls nothing answers."""

    def __init__(self, endpoint: str, refused: set[str]) -> None:
        super().__init__(endpoint)
        self.refused = refused

    def client(self, service: str) -> Any:
        if service not in self.refused:
            return super().client(service)
        config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2)
        return boto3.client(service, endpoint_url=DEAD_ENDPOINT, region_name="us-east-1", config=config)


def entered(app, secrets) -> TestClient:
    """Return a client of `app` that presented the token."""
    client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
    assert client.get(f"/?token={secrets.token}").status_code == 303
    return client


def text_of(page: str) -> str:
    """Return the page's text with its whitespace collapsed."""
    return " ".join(page.split())


class TestWhyItWaits:
    def test_a_long_wait_shows_the_cause_the_queue_and_the_environment(
        self, browser, flock, waiting_batch_job
    ):
        """A job waiting 12 minutes: no m5 has 128 vCPUs, and the queue's and environment's states show."""
        row = submitted_row(flock, 1, waiting_batch_job, timedelta(minutes=12))
        answer = browser.get(f"/jobs/{row.uuid}")
        assert answer.status_code == 200
        page = text_of(answer.text)
        assert "Why it waits" in page
        assert "(waiting 12m" in page
        assert (
            "no instance type in the compute environment flock-ce&#39;s InstanceTypes (m5.*) has 128" in page
        )
        assert "128 vCPUs, 2,048 MiB" in page
        assert "flock-queue: ENABLED, VALID" in page
        assert "flock-ce: ENABLED, VALID (EC2); desired 0 / max 256 vCPUs; instance types m5" in page

    def test_a_short_wait_and_a_running_job_show_no_diagnosis(self, browser, flock, waiting_batch_job):
        """A job waiting 1 minute, or one already running, has no 'why it waits' section."""
        short = submitted_row(flock, 2, waiting_batch_job, timedelta(minutes=1))
        running = job_row(3, JobStatus.IN_PROGRESS, batch_job_id=waiting_batch_job)
        flock.write(running)
        for row in (short, running):
            answer = browser.get(f"/jobs/{row.uuid}")
            assert answer.status_code == 200
            assert 'id="waiting"' not in answer.text

    def test_ec2_refusing_is_named_and_the_states_still_show(self, flock, secrets, waiting_batch_job):
        """EC2 unreachable: the page names the refused call and still shows the queue and environment."""
        row = submitted_row(flock, 4, waiting_batch_job, timedelta(minutes=30))
        app = create_app(Flock(flock.names(), PartlyRefused(flock.endpoint, {"ec2"})), secrets, PORT)
        with entered(app, secrets) as client:
            answer = client.get(f"/jobs/{row.uuid}")
        assert answer.status_code == 200
        page = text_of(answer.text)
        assert "ec2:DescribeInstanceTypes failed: Could not connect to the endpoint URL" in page
        assert "flock-queue: ENABLED, VALID" in page
        assert "flock-ce: ENABLED, VALID" in page

    def test_batch_refusing_is_said_and_the_page_still_shows(self, flock, secrets):
        """Batch unreachable: the page says AWS refused to describe the job and why it cannot tell more."""
        row = submitted_row(flock, 5, "batch-job-5", timedelta(minutes=30))
        app = create_app(Flock(flock.names(), PartlyRefused(flock.endpoint, {"batch"})), secrets, PORT)
        with entered(app, secrets) as client:
            answer = client.get(f"/jobs/{row.uuid}")
        assert answer.status_code == 200
        page = text_of(answer.text)
        assert "AWS refused to describe Batch job batch-job-5: Could not connect" in page
        assert "AWS Batch does not know job batch-job-5 (or would not say: batch:DescribeJobs failed" in page
        assert row.input_zip_name in page


class TestWhatItCost:
    def test_a_job_on_the_local_flock_is_priced_with_the_local_figures(self, browser, flock):
        """2 of 4 vCPUs for an hour at USD 0.20 an hour: $0.100000, from the local figures."""
        row = ran_row(
            10, instance_type=LOCAL_INSTANCE_TYPE, capacity_type=ON_DEMAND, vcpus=2, memory_mib=4096
        )
        flock.write(row)
        page = text_of(browser.get(f"/jobs/{row.uuid}").text)
        assert "Cost (estimate)" in page
        assert '<p class="amount">$0.100000 <span class="muted">(local figures; local.flock, 3600 s)' in page
        assert "leaves out storage" in page

    def test_a_failed_job_is_priced_by_its_memory_share(self, browser, flock):
        """A failed job holding 12 GiB of the local 16 GiB with 1 vCPU: 0.75 of USD 0.20 for an hour."""
        row = ran_row(11, JobStatus.JOB_FAILED, instance_type=LOCAL_INSTANCE_TYPE, vcpus=1, memory_mib=12288)
        flock.write(row)
        assert '<p class="amount">$0.150000 <span class="muted">(local figures;' in text_of(
            browser.get(f"/jobs/{row.uuid}").text
        )

    def test_unpriced_jobs_say_why(self, browser, flock):
        """No run recorded, no instance recorded, or no price at this endpoint: each says unpriced and why."""
        cases = [
            (job_row(12, JobStatus.JOB_COMPLETE), "unpriced: no run recorded"),
            (ran_row(13, vcpus=1, memory_mib=1024), "unpriced: its instance was not recorded"),
            (
                ran_row(14, instance_type="m5.large", vcpus=1, memory_mib=1024),
                "unpriced: m5.large has no price here: a local flock&#39;s endpoint has no AWS prices",
            ),
            (
                ran_row(15, instance_type="<b>odd</b>", vcpus=1, memory_mib=1024),
                "unpriced: &lt;b&gt;odd&lt;/b&gt; has no price here",
            ),
        ]
        flock.write(*(row for row, _ in cases))
        for row, expected in cases:
            answer = browser.get(f"/jobs/{row.uuid}")
            assert answer.status_code == 200
            assert expected in text_of(answer.text)
            assert "<b>odd</b>" not in answer.text

    def test_jobs_that_did_not_run_to_an_end_show_no_cost(self, browser, flock):
        """A running job and a rejected one have no cost section."""
        running = job_row(16, JobStatus.IN_PROGRESS)
        rejected = job_row(17, JobStatus.REJECTED, rejection_reason="TAG must be text")
        flock.write(running, rejected)
        for row in (running, rejected):
            assert 'id="cost"' not in browser.get(f"/jobs/{row.uuid}").text

    def test_a_refused_price_lookup_is_unpriced_with_the_reason(self, flock, secrets, tmp_path):
        """AWS prices unreachable: the job is unpriced, saying AWS did not answer; the page is no 500."""
        config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2)
        dead = {
            name: boto3.client(name, endpoint_url=DEAD_ENDPOINT, region_name="us-east-1", config=config)
            for name in ("pricing", "ec2")
        }
        book = PriceBook(
            AwsPrices(
                pricing=dead["pricing"],
                ec2=dead["ec2"],
                region="us-east-1",
                cache=PriceCache(tmp_path / "prices.json"),
            )
        )

        class PricedFlock(Flock):
            """The moto flock, priced by AWS prices that cannot be reached."""

            def price_book(self) -> PriceBook:
                return book

        row = ran_row(18, instance_type="m5.large", capacity_type=ON_DEMAND, vcpus=1, memory_mib=1024)
        flock.write(row)
        app = create_app(PricedFlock(flock.names(), Factory(flock.endpoint)), secrets, PORT)
        with entered(app, secrets) as client:
            answer = client.get(f"/jobs/{row.uuid}")
        assert answer.status_code == 200
        assert "unpriced: AWS did not answer (Could not connect to the endpoint URL" in text_of(answer.text)
