"""The scheduler's metrics: counters, scheduling latency per job and jobs per SubmitJob, parsed from EMF."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime

from shepard_scheduler import endpoint, s3_events

INPUTS = json.dumps({"test": "hello"})


def _emf(capsys) -> list[dict]:
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]


def _values(documents: list[dict], name: str) -> list[float]:
    """Return every value of metric `name` across the documents, each document checked to declare it."""
    values: list[float] = []
    for document in documents:
        declared = {m["Name"]: m for d in document["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        if name not in document:
            assert name not in declared
            continue
        assert name in declared
        value = document[name]
        found = value if isinstance(value, list) else [value]
        assert len(found) <= 100
        values.extend(found)
    return values


def _uploaded_at(event: dict, seconds_ago: float) -> dict:
    """Return `event` with every S3 record's eventTime set `seconds_ago` before now."""
    moment = (
        datetime.fromtimestamp(time.time() - seconds_ago, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )
    event = copy.deepcopy(event)
    for record in event["Records"]:
        body = json.loads(record["body"])
        for s3_record in body.get("Records", []):
            s3_record["eventTime"] = moment
        record["body"] = json.dumps(body)
    return event


class TestS3EventMetrics:
    def test_each_scheduled_upload_has_its_latency_and_the_array_its_size(self, flock, context, capsys):
        """Five uploads 30 s old give five latencies of about 30 s and one SubmitJob of 5 jobs."""
        # GIVEN five job zips and one invalid one, uploaded 30 s before the scheduler runs
        for number in range(5):
            flock.upload(f"batch/{number}.zip", {"inputs.txt": INPUTS})
        flock.upload("batch/bad.zip", {"inputs.txt": "{"})
        event = _uploaded_at(flock.job_messages(), 30)
        capsys.readouterr()
        # WHEN the scheduler handles them in one invocation
        s3_events.handler(event, context)
        # THEN the counters stay, with a latency for each scheduled job and one SubmitJob of five
        documents = _emf(capsys)
        assert sum(_values(documents, "JobsScheduled")) == 5
        assert sum(_values(documents, "JobsRejected")) == 1
        latencies = _values(documents, "SchedulingLatency")
        assert len(latencies) == 5
        assert all(29 <= latency < 90 for latency in latencies)
        assert _values(documents, "JobsPerSubmitJob") == [5]
        units = {
            m["Name"]: m["Unit"] for d in documents for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        }
        assert (units["SchedulingLatency"], units["JobsPerSubmitJob"]) == ("Seconds", "Count")

    def test_duplicates_have_no_latency(self, flock, context, capsys):
        """A redelivered upload already scheduled adds a duplicate, not a latency or a SubmitJob."""
        # GIVEN an upload scheduled once
        flock.upload("once.zip", {"inputs.txt": INPUTS})
        event = flock.job_messages()
        s3_events.handler(event, context)
        capsys.readouterr()
        # WHEN its event is delivered again
        s3_events.handler(event, context)
        # THEN only the duplicate is counted
        documents = _emf(capsys)
        assert sum(_values(documents, "DuplicatesSkipped")) == 1
        assert _values(documents, "SchedulingLatency") == []
        assert _values(documents, "JobsPerSubmitJob") == []

    def test_hundreds_of_latencies_split_into_valid_documents(self, flock, context, capsys):
        """250 uploads give 250 latencies in documents of at most 100 values, counted once."""
        # GIVEN 250 uploads
        for number in range(250):
            flock.upload(f"many/{number}.zip", {"inputs.txt": INPUTS})
        event = flock.job_messages()
        capsys.readouterr()
        # WHEN one invocation schedules them
        s3_events.handler(event, context)
        # THEN every job has its latency, every document is within EMF's limit, the counter counts 250 once
        documents = _emf(capsys)
        assert len(_values(documents, "SchedulingLatency")) == 250
        assert sum(_values(documents, "JobsScheduled")) == 250
        assert _values(documents, "JobsPerSubmitJob") == [250]


class TestEndpointMetrics:
    def test_a_request_is_timed_from_its_arrival(self, flock, context, events, capsys):
        """A function-URL request that arrived 20 s ago is submitted with a latency of about 20 s."""
        # GIVEN a request whose requestContext says it reached AWS 20 s ago
        request = events.load("function_url_request")
        request["requestContext"]["timeEpoch"] = int((time.time() - 20) * 1000)
        capsys.readouterr()
        # WHEN the endpoint schedules it
        response = endpoint.handler(request, context)
        # THEN its latency is about 20 s and one SubmitJob launched one job
        assert response["statusCode"] == 200
        documents = _emf(capsys)
        [latency] = _values(documents, "SchedulingLatency")
        assert 19 <= latency < 80
        assert _values(documents, "JobsPerSubmitJob") == [1]

    def test_a_list_request_is_one_submit_of_all_its_jobs(self, flock, context, capsys):
        """A direct invocation listing three jobs gives three small latencies and one SubmitJob of three."""
        capsys.readouterr()
        response = endpoint.handler([{"N": 1}, {"N": 2}, {"N": 3}], context)
        assert response["statusCode"] == 200
        documents = _emf(capsys)
        latencies = _values(documents, "SchedulingLatency")
        assert len(latencies) == 3
        assert all(0 <= latency < 60 for latency in latencies)
        assert _values(documents, "JobsPerSubmitJob") == [3]
