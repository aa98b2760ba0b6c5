"""Helpers of the integration tests: a running local flock, its clients and its CLI."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from shepard_core import is_counter_key, parse_error_object_name, parse_output_object_name

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TEMPLATE = ROOT / "cloudformation" / "shepard.yml"
SETTLED = frozenset({"job_complete", "job_failed", "rejected"})


def shepard_command() -> list[str]:
    """Return the command that runs the installed `shepard` CLI."""
    beside = Path(sys.executable).parent / "shepard"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "shepard_cli"]


def job_zip(inputs: dict[str, str], extra: dict[str, bytes] | None = None) -> bytes:
    """Return the bytes of a job zip holding inputs.txt and the extra files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inputs.txt", json.dumps(inputs))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclasses.dataclass
class Flock:
    """A running local flock: its recorded state, clients on its endpoint, and the CLI pointed at it."""

    directory: Path
    env: dict[str, str]
    state: Any
    session: Any

    def client(self, service: str) -> Any:
        """Return a boto3 client for `service` on the flock's AWS emulator."""
        return self.session.client(service, endpoint_url=self.state.aws_endpoint)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `shepard ARGS` against this flock and return the finished process."""
        done = subprocess.run(  # noqa: S603 - a fixed argument list
            [*shepard_command(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(f"shepard {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def upload(self, key: str, inputs: dict[str, str]) -> None:
        """Drop a job zip into the inputs bucket."""
        self.client("s3").put_object(Bucket=self.state.names.inputs_bucket, Key=key, Body=job_zip(inputs))

    def rows(self) -> dict[str, dict[str, Any]]:
        """Return every job row and array manifest (not the status counters), by UUID, with plain values."""
        dynamodb = self.client("dynamodb")
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.state.names.table}
        while True:
            page = dynamodb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {
            item["UUID"]["S"]: {k: next(iter(v.values())) for k, v in item.items()}
            for item in items
            if not is_counter_key(item["UUID"]["S"])
        }

    def rows_for(self, zip_keys: set[str]) -> dict[str, dict[str, Any]]:
        """Return the rows of the jobs made from these input zips, by zip key."""
        return {
            row.get("INPUT_ZIP_NAME", ""): row
            for row in self.rows().values()
            if row.get("INPUT_ZIP_NAME") in zip_keys
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Return every key of `bucket` under `prefix`."""
        s3 = self.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def outputs_by_job(self) -> dict[str, list[str]]:
        """Return the output zip keys of the outputs bucket, by the job UUID each names."""
        found: dict[str, list[str]] = {}
        for key in self.keys(self.state.names.outputs_bucket):
            name = parse_output_object_name(key)
            if name is not None:
                found.setdefault(name.job_uuid, []).append(key)
        return found

    def error_zips_of(self, job_uuid: str) -> list[str]:
        """Return the error zip keys of the errors bucket that name job `job_uuid`."""
        keys = self.keys(self.state.names.errors_bucket)
        return [key for key in keys if (name := parse_error_object_name(key)) and name.job_uuid == job_uuid]

    def zip_members(self, bucket: str, key: str) -> dict[str, bytes]:
        """Return the members of the zip stored at `bucket`/`key`, by name."""
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    def error_report(self, job_uuid: str) -> str:
        """Return the text files of the job's error zips, each under its name, to explain a failure."""
        parts = [
            f"--- {key}:{name}\n{data[-4000:].decode('utf-8', 'replace')}"
            for key in self.error_zips_of(job_uuid)
            for name, data in self.zip_members(self.state.names.errors_bucket, key).items()
        ]
        return "\n".join(parts) or f"no error zip names job {job_uuid}"

    def executor_jobs(self) -> dict[str, dict[str, Any]]:
        """Return the executor's view of every Batch job (arrays, their children, plain jobs), by job id."""
        with urllib.request.urlopen(f"{self.state.api_endpoint}/local/jobs", timeout=10) as response:  # noqa: S310
            return {job["jobId"]: job for job in json.loads(response.read())["jobs"]}

    def executor_job_of(self, job_uuid: str) -> dict[str, Any] | None:
        """Return the executor's view of the Batch job (array child or plain job) the job's row names."""
        batch_job_id = self.rows().get(job_uuid, {}).get("SHEPARD_BATCH_JOB_ID")
        return self.executor_jobs().get(str(batch_job_id)) if batch_job_id else None

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
        """Poll `condition` every `interval` seconds until it returns something truthy; fail after `timeout`.

        A condition that scans the table costs the emulator a second or more per thousand rows: poll
        such a condition rarely, or the test's own polling slows the flock it waits for.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout} s waiting for {what}")

    def start_sleeping_job(self, key: str, name: str, seconds: int) -> str:
        """Upload a quick-deploy job that sleeps `seconds`, wait until its payload runs, return its UUID."""
        self.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "SLEEP_SECONDS": str(seconds), "NAME": name})
        row = self.wait_for(
            lambda: next(
                (r for r in self.rows_for({key}).values() if r["JOB_STATUS"] == "calling_payload_code"), None
            ),
            timeout=60,
            what="the payload to start",
        )
        return str(row["UUID"])


def flock_stats(flock: Flock) -> dict[str, Any]:
    """Return the runner's counters: scheduler invocations, SubmitJob calls, arrays and their children."""
    with urllib.request.urlopen(f"{flock.state.api_endpoint}/local/stats", timeout=10) as response:  # noqa: S310
        stats: dict[str, Any] = json.loads(response.read())
    return stats


def flock_up(work: Path, *, prefix: str, window_seconds: int | None, runtime: str = "process") -> Flock:
    """Start a local flock from `work` with the real `shepard local up`, and return it.

    `window_seconds` sets the scheduler's batching window; None keeps the template's default.
    """
    from shepard_local import LOCAL_CREDENTIALS, FlockState, local_session

    env = {
        **os.environ,
        **LOCAL_CREDENTIALS,
        "SHEPARD_CLI_HOME": str(work / "cli"),
        "SHEPARD_LOCAL_DIR": str(work / "local"),
        "SHEPARD_TEMPLATE": os.environ.get("SHEPARD_TEMPLATE", str(TEMPLATE)),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    up = subprocess.run(  # noqa: S603 - a fixed argument list
        [
            *shepard_command(),
            *("local", "up", "--runtime", runtime, "--concurrency", "4", "--prefix", prefix),
            *(
                ()
                if window_seconds is None
                else ("--parameter", f"SchedulerBatchingWindowSeconds={window_seconds}")
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    state = FlockState.load(work / "local")
    assert state is not None
    return Flock(directory=work / "local", env=env, state=state, session=local_session())


def flock_down(flock: Flock) -> None:
    """Stop the flock with the real `shepard local down`."""
    down = flock.cli("local", "down", check=False)
    assert down.returncode == 0, down.stdout + down.stderr
