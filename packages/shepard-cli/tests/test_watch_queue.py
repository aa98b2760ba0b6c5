"""`shepard watch` shows uploads waiting for the scheduler: the upload queue's depth and oldest age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

STACK_TEMPLATE = json.dumps(
    {
        "Resources": {"SchedulerQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "uploads"}}},
        "Outputs": {"SchedulerQueueUrl": {"Value": {"Ref": "SchedulerQueue"}}},
    }
)


@pytest.fixture
def queue(flock):
    """A stack whose SchedulerQueueUrl output names a queue holding three uploads, one being scheduled."""
    flock.client("cloudformation").create_stack(StackName="test-flock", TemplateBody=STACK_TEMPLATE)
    sqs = flock.client("sqs")
    url = sqs.get_queue_url(QueueName="uploads")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"upload": n}))
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=600)
    return url


def _snapshot(run, *args):
    result = run("watch", "--once", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class TestUploadsWaiting:
    def test_the_stack_names_the_queue_and_its_depth_is_shown(self, run, flock, queue):
        """Through the stack's output, JSON shows 2 uploads queued and 1 being scheduled, age unknown."""
        waiting = _snapshot(run, "--cloudformation-to-describe", "test-flock")["waiting_for_scheduler"]
        # the stack's output is the queue's AWS URL; SQS answers for it through the endpoint
        assert waiting["queue_url"].endswith(queue.split("/", 3)[3])
        assert waiting | {"queue_url": queue} == {
            "queue_url": queue,
            "waiting": 2,
            "in_flight": 1,
            "oldest_age_seconds": None,
            "total": 3,
        }

    def test_the_oldest_age_comes_from_cloudwatch(self, run, flock, queue):
        """The latest ApproximateAgeOfOldestMessage datapoint of the queue is its oldest upload's age."""
        flock.client("cloudwatch").put_metric_data(
            Namespace="AWS/SQS",
            MetricData=[
                {
                    "MetricName": "ApproximateAgeOfOldestMessage",
                    "Dimensions": [{"Name": "QueueName", "Value": "uploads"}],
                    # a minute old, as CloudWatch publishes it: never later than the view's own clock
                    "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
                    "Value": 125.0,
                }
            ],
        )
        result = run("watch", "--once", "--scheduler-queue-url", queue)
        assert result.exit_code == 0, result.output
        assert (
            "Waiting for the scheduler: 3 upload(s) not yet jobs (2 queued, 1 being scheduled), "
            "the oldest 2m 05s old" in result.output.splitlines()
        )

    def test_the_one_line_view_counts_uploads_waiting(self, run, flock, queue, monkeypatch):
        """Off a terminal, each refresh's line ends with the uploads waiting."""
        from shepard_cli import _watch_loop

        def stop(_seconds):
            raise KeyboardInterrupt

        monkeypatch.setattr(_watch_loop, "_sleep", stop)
        result = run("watch", "--scheduler-queue-url", queue)
        assert result.stdout.splitlines()[0].endswith("|  3 uploads waiting")

    def test_without_a_known_queue_nothing_is_claimed(self, run, flock):
        """With no stack or queue given, the snapshot says the backlog is unknown (null), not zero."""
        assert _snapshot(run)["waiting_for_scheduler"] is None

    def test_a_missing_stack_is_one_warning(self, run, flock):
        """A stack that does not exist leaves the rest of watch working, with one warning."""
        result = run("watch", "--once", "--cloudformation-to-describe", "no-such-stack")
        assert result.exit_code == 0, result.output
        assert result.stderr.count("uploads waiting for the scheduler are not shown") == 1
