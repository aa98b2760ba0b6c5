"""`shepard logs` on the local flock: a job retried after a reclaimed host shows each attempt's own log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flock_testkit import Flock


def test_each_attempt_of_a_reclaimed_job_has_its_own_log(flock: Flock):
    """Attempt 1 (host reclaimed) and attempt 2 (completed) print their own lines; a third is refused."""
    # GIVEN a job whose host is reclaimed while its payload runs, and which the retry then completes
    key = "attempts/reclaimed.zip"
    uuid = flock.start_sleeping_job(key, "retried", 6)
    flock.cli("local", "reclaim", uuid)
    flock.wait_for(
        lambda: (flock.executor_job_of(uuid) or {}).get("status") == "SUCCEEDED",
        timeout=90,
        what="the retried Batch job to succeed",
    )

    # WHEN its logs are asked for: the latest attempt's, then the first's
    latest = flock.cli("--profile", "local", "logs", uuid)
    first = flock.cli("--profile", "local", "logs", uuid, "--attempt", "1")

    # THEN the latest is attempt 2 of 2, ran to the end, and says how attempt 1 ended
    assert latest.stderr.startswith("Attempt 2 of 2 (attempts 1: ")
    assert "Host EC2 (instance i-0shepardlocal) terminated.; 2: exit code 0)" in latest.stderr
    assert "Hello, retried!" in latest.stdout
    assert "job_complete" in latest.stdout
    # AND attempt 1 started the payload but never completed the job
    assert first.stderr.startswith("Attempt 1 of 2")
    assert "Hello, retried!" in first.stdout
    assert "job_complete" not in first.stdout
    # AND an attempt that was not made is refused, saying how many there were
    third = flock.cli("--profile", "local", "logs", uuid, "--attempt", "3", check=False)
    assert third.returncode == 1
    assert "has 2 attempt(s), so it has no attempt 3" in third.stderr
