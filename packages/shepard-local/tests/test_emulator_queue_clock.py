"""The emulator's SQS queues read the clock once per listing, and list and count what moto's own did."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.sqs import models
from shepard_local import _emulator_queue_clock

ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@pytest.fixture
def clock_reads(monkeypatch):
    """Amend moto's Queue in this process around a clock that counts its reads; return the count."""
    reads = [0]
    clock = models.unix_time_millis

    def counted() -> float:
        reads[0] += 1
        return clock()

    monkeypatch.setattr(models, "unix_time_millis", counted)
    for name, amended in _emulator_queue_clock.amended_properties(counted).items():
        monkeypatch.setattr(models.Queue, name, amended)
    return reads


@pytest.fixture
def sqs(aws_endpoint):
    """A client of the module's moto server and a new queue of its own (`sqs.url`)."""
    client = boto3.client("sqs", endpoint_url=aws_endpoint, region_name="us-east-1")
    client.url = client.create_queue(QueueName=f"uploads-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return client


def _counts(sqs) -> tuple[int, ...]:
    answer = sqs.get_queue_attributes(QueueUrl=sqs.url, AttributeNames=list(ATTRIBUTES))["Attributes"]
    return tuple(int(answer[name]) for name in ATTRIBUTES)


def _send(sqs, bodies, **extra) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=sqs.url, MessageBody=body, **extra)


def test_visible_in_flight_and_delayed_messages_are_told_apart(sqs, clock_reads):
    """Six messages, two received (in flight) and two delayed: each listing and count sees its own."""
    _send(sqs, ["a", "b", "c", "d"])
    _send(sqs, ["late-1", "late-2"], DelaySeconds=60)
    taken = sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert len(taken) == 2
    assert _counts(sqs) == (2, 2, 2)
    rest = sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert sorted(message["Body"] for message in rest + taken) == ["a", "b", "c", "d"]
    assert _counts(sqs) == (0, 4, 2)
    sqs.change_message_visibility(
        QueueUrl=sqs.url, ReceiptHandle=taken[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    again = sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in again] == [taken[0]["Body"]]


def test_a_long_queue_is_listed_with_a_few_clock_reads(sqs, clock_reads):
    """Counting and receiving from 500 waiting messages reads the clock far less than once a message."""
    for start in range(0, 500, 10):
        sqs.send_message_batch(
            QueueUrl=sqs.url, Entries=[{"Id": str(n), "MessageBody": f"m{start + n}"} for n in range(10)]
        )
    clock_reads[0] = 0
    assert _counts(sqs) == (500, 0, 0)
    assert len(sqs.receive_message(QueueUrl=sqs.url, MaxNumberOfMessages=10)["Messages"]) == 10
    assert clock_reads[0] < 500 // 2  # moto's own read it about 7,900 times here


def test_install_refuses_a_moto_that_tells_visibility_otherwise(monkeypatch):
    """A Message whose visibility is decided some other way stops the amendment with a clear error."""
    monkeypatch.setattr(models.Message, "visible", property(lambda _message: True))
    with pytest.raises(RuntimeError, match="visible_at and delayed_until"):
        _emulator_queue_clock.install()
