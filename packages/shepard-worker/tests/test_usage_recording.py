"""What a finished job's row records for pricing: the job's size, its instance and how long it ran."""

from __future__ import annotations

import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from shepard_core import Attr, JobStatus
from shepard_worker import ExitCode, run_job
from shepard_worker._instance import read_instance_metadata

# What IMDSv2 answers on a Spot m5.large (the token is opaque; every GET must carry it).
RECORDED_METADATA = {
    "/latest/meta-data/instance-type": "m5.large",
    "/latest/meta-data/instance-life-cycle": "spot",
    "/latest/meta-data/placement/availability-zone": "us-east-1b",
}
TOKEN = "AQAEAJ3i0mZ3Rm9rZW4tc2hhcGVkLXN0cmluZw=="  # noqa: S105 - a stand-in session token


class _Imds(BaseHTTPRequestHandler):
    """Answers like the instance metadata service in IMDSv2-required mode: no token, 401."""

    answers: ClassVar[dict[str, str]] = {}

    def do_PUT(self) -> None:
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._send(400, "")
            return
        self._send(200, TOKEN)

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            self._send(401, "")
            return
        answer = self.answers.get(self.path)
        self._send(200, answer) if answer is not None else self._send(404, "Not Found")

    def _send(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def imds():
    """Serve the recorded metadata on a loopback port; yield its endpoint and the answers to change."""
    answers = dict(RECORDED_METADATA)
    handler = type("Imds", (_Imds,), {"answers": answers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(flock, script: str = "exit 0\n", **overrides: str):
    flock.quick_deploy("qd", {"run.sh": script})
    flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
    before = time.time_ns() // 1_000_000
    result = run_job(flock.config(**overrides), handle_signals=False, echo=io.BytesIO())
    after = time.time_ns() // 1_000_000
    return result, flock.job(), (before, after)


SIZE = {"SHEPARD_JOB_VCPUS": "2", "SHEPARD_JOB_MEMORY_MIB": "4096"}


class TestRecordedUsage:
    @pytest.mark.parametrize(("script", "status"), [("exit 0\n", "job_complete"), ("exit 4\n", "job_failed")])
    def test_a_named_instance_and_the_job_size_are_recorded_when_the_job_ends(self, flock, script, status):
        """A complete and a failed job both record instance, capacity, vCPUs, memory and run times."""
        result, row, (before, after) = _run(
            flock, script, SHEPARD_INSTANCE_TYPE="local.flock", SHEPARD_CAPACITY_TYPE="on-demand", **SIZE
        )
        assert row.status is JobStatus(status)
        assert result.exit_code in {ExitCode.OK, ExitCode.PAYLOAD_FAILED}
        assert (row.instance_type, row.capacity_type) == ("local.flock", "on-demand")
        assert (row.vcpus, row.memory_mib) == (2, 4096)
        assert row.run_started_ms is not None
        assert row.run_ended_ms is not None
        assert before <= row.run_started_ms <= row.run_ended_ms <= after

    def test_instance_metadata_names_the_instance_its_capacity_and_zone(self, flock, imds):
        """On EC2 the worker records what IMDSv2 answers (with a token): a Spot m5.large in us-east-1b."""
        endpoint, _ = imds
        _, row, _ = _run(flock, AWS_EC2_METADATA_SERVICE_ENDPOINT=endpoint, SHEPARD_JOB_VCPUS="0.5")
        assert (row.instance_type, row.capacity_type, row.availability_zone) == (
            "m5.large",
            "spot",
            "us-east-1b",
        )
        assert row.vcpus == 0.5

    def test_an_unreachable_metadata_service_records_no_instance_and_the_job_still_completes(self, flock):
        """Nothing answering at the metadata endpoint leaves the instance unrecorded, never a failure."""
        result, row, _ = _run(
            flock, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", **SIZE
        )
        assert result.exit_code is ExitCode.OK
        assert row.status is JobStatus.JOB_COMPLETE
        assert (row.instance_type, row.capacity_type, row.availability_zone) == (None, None, None)
        assert (row.vcpus, row.memory_mib) == (2, 4096)
        assert Attr.INSTANCE_TYPE not in flock.row()

    def test_a_worker_off_ec2_does_not_ask_for_metadata(self, flock):
        """Against an emulator endpoint with no metadata endpoint set, only size and times are recorded."""
        _, row, _ = _run(flock, **SIZE)
        assert row.instance_type is None
        assert row.run_started_ms is not None

    @pytest.mark.parametrize("raw", ["abc", "0", "-2", "inf"])
    def test_an_unusable_job_size_is_left_out_and_the_job_runs(self, flock, raw):
        """A vCPU figure that is no positive number is not recorded; the job completes regardless."""
        result, row, _ = _run(flock, SHEPARD_JOB_VCPUS=raw, SHEPARD_JOB_MEMORY_MIB="2048")
        assert result.exit_code is ExitCode.OK
        assert row.vcpus is None
        assert row.memory_mib == 2048


class TestInstanceMetadata:
    def test_a_missing_life_cycle_leaves_the_capacity_unknown(self, imds):
        """A 404 for one path leaves that fact unknown; the others are still read."""
        endpoint, answers = imds
        del answers["/latest/meta-data/instance-life-cycle"]
        facts = read_instance_metadata(endpoint)
        assert (facts.instance_type, facts.capacity_type, facts.availability_zone) == (
            "m5.large",
            None,
            "us-east-1b",
        )

    @pytest.mark.parametrize(("life_cycle", "capacity"), [("on-demand", "on-demand"), ("scheduled", None)])
    def test_the_life_cycle_maps_to_a_capacity_type(self, imds, life_cycle, capacity):
        """`on-demand` stays on-demand; a life cycle that is neither Spot nor on-demand is unknown."""
        endpoint, answers = imds
        answers["/latest/meta-data/instance-life-cycle"] = life_cycle
        assert read_instance_metadata(endpoint).capacity_type == capacity

    def test_a_url_that_is_not_http_is_refused_as_unknown(self):
        """A metadata endpoint that is not http(s) is never opened (no file:// reads)."""
        facts = read_instance_metadata("file:///etc/passwd")
        assert facts.instance_type is None
