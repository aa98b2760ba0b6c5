"""A flock's AWS resources (buckets, job table, upload queues, Batch queue), made by API calls."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from shepard_testing._environment import REGION

if TYPE_CHECKING:
    from boto3.session import Session
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


@dataclasses.dataclass(frozen=True)
class ResourceNames:
    """The names of a test flock's resources; the defaults are the ones every package's tests use."""

    inputs_bucket: str = "shepard-inputs"
    outputs_bucket: str = "shepard-outputs"
    errors_bucket: str = "shepard-errors"
    quick_deploy_bucket: str = "shepard-quick-deploy"
    table: str = "shepard-jobs"
    queue: str = "shepard-scheduler-queue"
    job_queue: str = "shepard-job-queue"
    job_definition: str = "shepard-job"

    @classmethod
    def with_prefix(cls, prefix: str) -> ResourceNames:
        """Return the default names with "shepard" replaced by `prefix`."""
        return cls(
            **{
                field.name: str(field.default).replace("shepard", prefix, 1)
                for field in dataclasses.fields(cls)
            }
        )

    @property
    def buckets(self) -> tuple[str, ...]:
        """Every bucket name."""
        return (self.inputs_bucket, self.outputs_bucket, self.errors_bucket, self.quick_deploy_bucket)


@dataclasses.dataclass
class FlockResources:
    """Clients on the endpoint and the identifiers of the resources `provision_resources` made."""

    endpoint: str
    names: ResourceNames
    s3: S3Client
    sqs: SQSClient
    dynamodb: DynamoDBClient
    batch: BatchClient
    queue_url: str
    queue_arn: str
    dlq_url: str


def _queue_arn(sqs: SQSClient, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def _create_batch_queue(session: Session, endpoint: str, names: ResourceNames) -> BatchClient:
    batch = session.client("batch", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    role = iam.create_role(RoleName=f"{names.job_queue}-service", AssumeRolePolicyDocument="{}")["Role"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"{names.job_queue}-compute",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role["Arn"],
    )
    batch.create_job_queue(
        jobQueueName=names.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}],
    )
    batch.register_job_definition(
        jobDefinitionName=names.job_definition,
        type="container",
        containerProperties={"image": "shepard/payload:latest", "vcpus": 1, "memory": 512},
    )
    return batch


def provision_resources(
    endpoint: str, names: ResourceNames | None = None, *, max_receive_count: int = 2
) -> FlockResources:
    """Create a flock's buckets, job table, upload queue and Batch job queue on the endpoint.

    The upload queue has a dead-letter queue and receives the inputs bucket's ObjectCreated notices.
    """
    import boto3

    names = names or ResourceNames()
    session = boto3.session.Session(region_name=REGION)
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    for bucket in names.buckets:
        s3.create_bucket(Bucket=bucket)
    dynamodb.create_table(
        TableName=names.table,
        KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq_url = sqs.create_queue(QueueName=f"{names.queue}-dlq")["QueueUrl"]
    redrive = json.dumps(
        {"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": max_receive_count}
    )
    queue_url = sqs.create_queue(QueueName=names.queue, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    s3.put_bucket_notification_configuration(
        Bucket=names.inputs_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    batch = _create_batch_queue(session, endpoint, names)
    return FlockResources(endpoint, names, s3, sqs, dynamodb, batch, queue_url, queue_arn, dlq_url)


def receive_messages(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    """Receive up to ten waiting messages with every attribute, leaving them visible to the next receive."""
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
    )
    return [dict(message) for message in response.get("Messages", [])]


def drain_queue(sqs: SQSClient, queue_url: str, *, skip_test_events: bool = True) -> list[dict[str, Any]]:
    """Delete and return every message waiting in the queue (S3's `s3:TestEvent` left out unless asked)."""
    taken: list[dict[str, Any]] = []
    while messages := receive_messages(sqs, queue_url):
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not (skip_test_events and "s3:TestEvent" in message["Body"]):
                taken.append(message)
    return taken
