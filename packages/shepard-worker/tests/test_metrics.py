"""The worker's per-job metrics: one embedded metric format document on its stdout, parsed and checked."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from typing import Any

from shepard_core import JobStatus
from shepard_worker import ExitCode, run_job

# CloudWatch's units (the EMF specification's MetricDefinition.Unit takes these).
CLOUDWATCH_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def emf_documents(output: bytes) -> list[dict[str, Any]]:
    """Return every EMF document among the output's lines, each checked against the EMF specification."""
    documents = []
    for line in output.splitlines():
        if not line.startswith(b"{") or b'"_aws"' not in line:
            continue
        document = json.loads(line)
        assert_valid_emf(document)
        documents.append(document)
    return documents


def assert_valid_emf(document: dict[str, Any]) -> None:
    """Fail unless `document` follows the EMF specification's structure and limits."""
    metadata = document["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    assert abs(metadata["Timestamp"] - time.time() * 1000) < 600_000
    directives = metadata["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert set(directive) <= {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str)
        assert 1 <= len(directive["Namespace"]) <= 255
        for dimension_set in directive["Dimensions"]:
            assert len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(document[name], str)
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric.get("Unit", "None") in CLOUDWATCH_UNITS
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def metric_names(document: dict[str, Any]) -> set[str]:
    """Return the names of the metrics a document declares."""
    return {m["Name"] for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def run(flock, **overrides: str):
    metrics = io.BytesIO()
    result = run_job(flock.config(**overrides), handle_signals=False, echo=io.BytesIO(), metrics=metrics)
    return result, metrics.getvalue()


class TestJobMetrics:
    def test_a_complete_job_publishes_its_phases_under_the_project(self, flock) -> None:
        """A complete job's one document counts it completed and times staging, payload and upload."""
        # GIVEN a payload that writes 200 kB of output and sleeps a little
        script = 'head -c 200000 /dev/urandom > "$ROOT_OUTPUT_NAME/blob"\nsleep 0.3\necho done\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it as attempt 2 of the flock "Genomics"
        result, output = run(flock, SHEPARD_PROJECT_NAME="Genomics", AWS_BATCH_JOB_ATTEMPT="2")
        # THEN one valid EMF document carries the job's figures in the project's namespace
        assert result.exit_code is ExitCode.OK
        [document] = emf_documents(output)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Genomics"
        assert directive["Dimensions"] == [["Project"]]
        assert document["Project"] == "Genomics"
        assert document["JobId"] == "job-1"
        assert metric_names(document) == {
            "StagingSeconds", "PayloadSeconds", "UploadSeconds", "UploadBytes",
            "ExitCode", "JobsCompleted", "JobsFailed", "Attempt",
        }  # fmt: skip
        assert (document["JobsCompleted"], document["JobsFailed"], document["ExitCode"]) == (1, 0, 0)
        assert document["Attempt"] == 2
        assert 0.3 <= document["PayloadSeconds"] < 30
        assert 0 <= document["StagingSeconds"] < 30
        assert 0 <= document["UploadSeconds"] < 30
        # AND the bytes are those of the uploaded zip (random data does not compress)
        [key] = flock.keys(flock.OUTPUTS)
        size = flock.s3.head_object(Bucket=flock.OUTPUTS, Key=key)["ContentLength"]
        assert document["UploadBytes"] == size
        assert size > 200_000

    def test_a_failed_payload_counts_a_failure_with_its_exit_code(self, flock) -> None:
        """A payload exiting 3 gives JobsFailed 1 and ExitCode 3, and no upload figures."""
        # GIVEN a payload that fails
        flock.quick_deploy("qd", {"run.sh": "echo failing\nexit 3\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs it without a project name
        result, output = run(flock)
        # THEN the job failed and its one document says so, under the default project
        assert result.exit_code is ExitCode.PAYLOAD_FAILED
        [document] = emf_documents(output)
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shepard"
        assert (document["JobsCompleted"], document["JobsFailed"], document["ExitCode"]) == (0, 1, 3)
        assert document["WorkerExitCode"] == int(ExitCode.PAYLOAD_FAILED)
        assert document["JobStatus"] == "job_failed"
        assert "PayloadSeconds" in metric_names(document)
        assert not {"UploadSeconds", "UploadBytes"} & metric_names(document)

    def test_a_job_failing_in_staging_has_no_payload_figures(self, flock) -> None:
        """A quick-deploy folder that does not exist fails the job before its payload runs."""
        # GIVEN a job naming a quick-deploy folder nobody uploaded
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "missing"})
        # WHEN the worker runs it
        result, output = run(flock)
        # THEN it failed in staging and its document counts the failure with the worker's exit code
        assert result.exit_code is ExitCode.STAGING_FAILED
        [document] = emf_documents(output)
        assert (document["JobsFailed"], document["ExitCode"]) == (1, int(ExitCode.STAGING_FAILED))
        assert not {"StagingSeconds", "PayloadSeconds", "UploadSeconds"} & metric_names(document)

    def test_a_job_another_worker_finished_publishes_nothing(self, flock) -> None:
        """A worker that may not claim its job (already complete) writes no metrics for it."""
        # GIVEN a job that is already complete
        flock.schedule(status=JobStatus.JOB_COMPLETE)
        # WHEN a worker starts for it
        _, output = run(flock)
        # THEN no EMF document is written
        assert emf_documents(output) == []


class TestWorkerStdout:
    def test_the_worker_process_prints_the_document_after_the_payload_output(self, flock) -> None:
        """`shepard-worker run` prints the payload's lines, then the job's EMF document, on its stdout."""
        # GIVEN a job whose payload prints one line
        flock.quick_deploy("qd", {"run.sh": "echo from-payload\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs as the Batch container's process does, for the flock "Genomics"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SHEPARD_", "USES_", "UUID"))}
        environment = {**base, **flock.env(SHEPARD_PROJECT_NAME="Genomics")}
        done = subprocess.run(
            [sys.executable, "-m", "shepard_worker", "run"],
            env=environment,
            capture_output=True,
            check=False,
            timeout=60,
        )
        # THEN stdout holds the payload's line, then one valid document for the completed job
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == b"payload| from-payload"
        [document] = emf_documents(done.stdout)
        assert lines[-1].startswith(b'{"_aws"')
        assert document["Project"] == "Genomics"
        assert (document["JobsCompleted"], document["ExitCode"], document["Attempt"]) == (1, 0, 1)
