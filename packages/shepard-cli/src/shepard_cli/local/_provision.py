"""Create a flock's resources in a local AWS endpoint: buckets, queues, table, secret, repo, Batch."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_batch.type_defs import ContainerPropertiesTypeDef

    from shepard_cli.local._flock import FlockNames

MAX_RECEIVE_COUNT: Final = 3
VISIBILITY_TIMEOUT_SECONDS: Final = 20
ULIMIT_FILENO: Final = 20000
JOB_ATTEMPTS: Final = 3
WORKER_IMAGE_TAG: Final = "latest"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Provisioned:
    """The identifiers of the created resources that later steps need."""

    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    job_queue_arn: str
    job_definition_arn: str
    worker_image: str


def worker_environment(names: FlockNames) -> dict[str, str]:
    """Return the worker's configuration as the flock's job definition carries it."""
    return {
        "SHEPARD_TABLE_NAME": names.table,
        "SHEPARD_INPUTS_BUCKET": names.inputs_bucket,
        "SHEPARD_OUTPUTS_BUCKET": names.outputs_bucket,
        "SHEPARD_ERRORS_BUCKET": names.errors_bucket,
        "SHEPARD_QUICK_DEPLOY_BUCKET": names.quick_deploy_bucket,
        "SHEPARD_SECRET_STORE": names.secret,
        "USES_EFS": "False",
        "USES_LUSTRE": "False",
        "ULIMIT_FILENO": str(ULIMIT_FILENO),
        "ALLOW_DOCKER_ACCESS": "False",
    }


def provision(session: boto3.Session, endpoint: str, names: FlockNames, *, registry: str) -> Provisioned:
    """Create every resource of the flock; an existing resource of the same name is reused."""
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    for bucket in (names.inputs_bucket, names.outputs_bucket, names.errors_bucket, names.quick_deploy_bucket):
        s3.create_bucket(Bucket=bucket)

    dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=names.inputs_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )

    _create_table(session, endpoint, names)
    _create_secret(session, endpoint, names)
    ecr = session.client("ecr", endpoint_url=endpoint)
    try:
        repo_uri = ecr.create_repository(repositoryName=names.ecr_repo)["repository"]["repositoryUri"]
    except ecr.exceptions.RepositoryAlreadyExistsException:
        repo_uri = ecr.describe_repositories(repositoryNames=[names.ecr_repo])["repositories"][0][
            "repositoryUri"
        ]
    worker_image = f"{registry}/{names.ecr_repo}:{WORKER_IMAGE_TAG}" if registry else f"{repo_uri}:latest"
    job_queue_arn, job_definition_arn = _create_batch(session, endpoint, names, worker_image)
    return Provisioned(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dead_letter_queue_url=dlq_url,
        job_queue_arn=job_queue_arn,
        job_definition_arn=job_definition_arn,
        worker_image=worker_image,
    )


def _create_table(session: boto3.Session, endpoint: str, names: FlockNames) -> None:
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    try:
        dynamodb.create_table(
            TableName=names.table,
            AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.update_time_to_live(
        TableName=names.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "END_TIME"}
    )


def _create_secret(session: boto3.Session, endpoint: str, names: FlockNames) -> None:
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    try:
        secrets.create_secret(Name=names.secret, SecretString="{}")
    except secrets.exceptions.ResourceExistsException:
        return


def _create_batch(session: boto3.Session, endpoint: str, names: FlockNames, image: str) -> tuple[str, str]:
    iam = session.client("iam", endpoint_url=endpoint)
    batch = session.client("batch", endpoint_url=endpoint)
    role_name = f"{names.prefix}-batch-service"
    try:
        role_arn = iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "batch.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]

    existing = batch.describe_compute_environments(computeEnvironments=[names.compute_environment])
    if existing["computeEnvironments"]:
        ce_arn = existing["computeEnvironments"][0]["computeEnvironmentArn"]
    else:
        ce_arn = batch.create_compute_environment(
            computeEnvironmentName=names.compute_environment,
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=role_arn,
        )["computeEnvironmentArn"]

    queues = batch.describe_job_queues(jobQueues=[names.job_queue])["jobQueues"]
    if queues:
        queue_arn = queues[0]["jobQueueArn"]
    else:
        queue_arn = batch.create_job_queue(
            jobQueueName=names.job_queue,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce_arn}],
        )["jobQueueArn"]

    definition: ContainerPropertiesTypeDef = {
        "image": image,
        "vcpus": 1,
        "memory": 2048,
        "privileged": True,
        "environment": [{"name": k, "value": v} for k, v in worker_environment(names).items()],
        "ulimits": [{"name": "nofile", "softLimit": ULIMIT_FILENO, "hardLimit": ULIMIT_FILENO}],
    }
    definition_arn = batch.register_job_definition(
        jobDefinitionName=names.job_definition,
        type="container",
        containerProperties=definition,
        retryStrategy={
            "attempts": JOB_ATTEMPTS,
            "evaluateOnExit": [
                {"onStatusReason": "Host EC2*", "action": "RETRY"},
                {"onReason": "*", "action": "EXIT"},
            ],
        },
    )["jobDefinitionArn"]
    return queue_arn, definition_arn
