"""The moto fixtures give each test a clean endpoint; provisioned resources are wired as in a flock."""

from __future__ import annotations

import json
import os
import urllib.parse

import boto3
from shepard_testing import ResourceNames, drain_queue, make_zip, provision_resources


class TestEndpoint:
    def test_credentials_are_fake(self):
        """Tests run with fake credentials in us-east-1 and no endpoint override."""
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert "AWS_ENDPOINT_URL" not in os.environ

    def test_fresh_endpoint_forgets_resources(self, moto_server):
        """Resetting the server removes what an earlier test made."""
        s3 = boto3.client("s3", endpoint_url=moto_server.url)
        s3.create_bucket(Bucket="left-over")
        s3 = boto3.client("s3", endpoint_url=moto_server.fresh())
        assert s3.list_buckets()["Buckets"] == []


class TestProvisionResources:
    def test_upload_notifies_the_queue(self, aws_endpoint):
        """A zip put in the inputs bucket puts one S3 notification for its key on the upload queue."""
        # GIVEN a provisioned flock
        resources = provision_resources(aws_endpoint)
        # WHEN a job zip is uploaded
        resources.s3.put_object(
            Bucket="shepard-inputs", Key="jobs/a.zip", Body=make_zip({"inputs.txt": "{}"})
        )
        # THEN its notification (and no test event) waits in the queue
        [message] = drain_queue(resources.sqs, resources.queue_url)
        [record] = json.loads(message["Body"])["Records"]
        assert urllib.parse.unquote_plus(record["s3"]["object"]["key"]) == "jobs/a.zip"
        assert drain_queue(resources.sqs, resources.queue_url) == []

    def test_queue_redrives_to_its_dead_letter_queue(self, aws_endpoint):
        """The upload queue sends a message to the dead-letter queue after the receives allowed."""
        resources = provision_resources(aws_endpoint, max_receive_count=3)
        attributes = resources.sqs.get_queue_attributes(QueueUrl=resources.queue_url, AttributeNames=["All"])
        policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
        assert policy["maxReceiveCount"] == 3
        assert policy["deadLetterTargetArn"].endswith(":shepard-scheduler-queue-dlq")

    def test_prefixed_names_are_made(self, aws_endpoint):
        """Names with another prefix name every bucket, the table and the Batch job queue."""
        names = ResourceNames.with_prefix("bench")
        resources = provision_resources(aws_endpoint, names)
        buckets = {bucket["Name"] for bucket in resources.s3.list_buckets()["Buckets"]}
        assert buckets == {"bench-inputs", "bench-outputs", "bench-errors", "bench-quick-deploy"}
        assert resources.dynamodb.list_tables()["TableNames"] == ["bench-jobs"]
        queues = resources.batch.describe_job_queues()["jobQueues"]
        assert [queue["jobQueueName"] for queue in queues] == ["bench-job-queue"]
