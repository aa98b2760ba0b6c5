"""Shepard's test kit: the local AWS endpoint, builders of zips and Lambda events, a Lambda context.

The Lambda context and the SQS event of an event source mapping are shepard-flock's emulation (the one
the local flock runs its handlers with), re-exported here.

Installing the package registers its pytest plugin (`shepard_testing.plugin`), which provides the
`moto_server`, `aws_endpoint`, `lambda_context`, `batch_job_gate` and `waiting_batch_job` fixtures
and the `requires_docker` and `requires_browser` marks.
"""

from shepard_flock import LambdaContext

from shepard_testing._docker import REQUIRE_DOCKER_VAR, docker_unavailable_reason
from shepard_testing._environment import (
    ACCOUNT,
    FAKE_AWS_ENVIRONMENT,
    REGION,
    use_fake_aws_credentials,
    use_local_docker_engine,
)
from shepard_testing._events import (
    DEFAULT_QUEUE_ARN,
    s3_notification,
    s3_record,
    s3_test_event,
    sqs_event,
    sqs_event_from_messages,
    sqs_record,
)
from shepard_testing._moto import BATCH_WITHOUT_DOCKER, MotoServer
from shepard_testing._recording_environ import RecordingEnviron
from shepard_testing._resources import (
    FlockResources,
    ResourceNames,
    drain_queue,
    provision_resources,
    receive_messages,
)
from shepard_testing._waiting_batch_job import NEEDS_VCPUS
from shepard_testing._zips import job_zip, make_zip

__all__ = [
    "ACCOUNT",
    "BATCH_WITHOUT_DOCKER",
    "DEFAULT_QUEUE_ARN",
    "FAKE_AWS_ENVIRONMENT",
    "NEEDS_VCPUS",
    "REGION",
    "REQUIRE_DOCKER_VAR",
    "FlockResources",
    "LambdaContext",
    "MotoServer",
    "RecordingEnviron",
    "ResourceNames",
    "docker_unavailable_reason",
    "drain_queue",
    "job_zip",
    "make_zip",
    "provision_resources",
    "receive_messages",
    "s3_notification",
    "s3_record",
    "s3_test_event",
    "sqs_event",
    "sqs_event_from_messages",
    "sqs_record",
    "use_fake_aws_credentials",
    "use_local_docker_engine",
]
