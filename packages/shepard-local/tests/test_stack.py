"""The local flock's stack: its parameters, and the stack itself with what the emulator skips applied."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING

import boto3
import pytest
from shepard_flock import Stack, load_template
from shepard_local._stack import create_stack, stack_parameters
from shepard_local._state import FlockNames

if TYPE_CHECKING:
    from pathlib import Path


class TestLocalParameters:
    def test_the_local_names_are_template_parameters(self, template: Path):
        """Every parameter the local flock sets is one the template declares."""
        parameters = load_template(template)["Parameters"]
        assert set(stack_parameters(FlockNames())) <= set(parameters)

    def test_the_local_parameters_satisfy_the_template_s_constraints(self, template: Path):
        """Each local value passes its parameter's AllowedPattern and numeric bounds."""
        import re

        declared = load_template(template)["Parameters"]
        for name, value in stack_parameters(FlockNames()).items():
            spec = declared[name]
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), (name, value)
            if spec.get("Type") == "Number":
                assert spec.get("MinValue", float("-inf")) <= int(value) <= spec.get("MaxValue", float("inf"))


@pytest.fixture(scope="module")
def created(aws_endpoint: str, template: Path) -> tuple[Stack, boto3.Session, FlockNames]:
    """The flock's stack, created once in a moto server from the packaged template."""
    request = urllib.request.Request(  # noqa: S310 - the test's own server
        f"{aws_endpoint}/moto-api/config",
        data=json.dumps({"batch": {"use_docker": False}}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
    session = boto3.Session(region_name="us-east-1")
    names = FlockNames(prefix="unit")
    return create_stack(session, aws_endpoint, names, template), session, names


# The emulator warns about each resource type it skips (the queue and bucket policies); they are known.
@pytest.mark.filterwarnings("ignore:Tried to parse .* but it.s not supported by moto:UserWarning")
class TestCreateStack:
    def test_the_stack_holds_the_template_s_resources(self, created, aws_endpoint: str):
        """The buckets, queue, table, functions and Batch queue exist under the flock's names."""
        stack, session, names = created
        assert stack.outputs["InputsBucket"] == names.inputs_bucket
        buckets = {
            b["Name"] for b in session.client("s3", endpoint_url=aws_endpoint).list_buckets()["Buckets"]
        }
        assert {names.inputs_bucket, names.outputs_bucket, names.errors_bucket} <= buckets
        assert sorted(stack.of_type("AWS::Lambda::Function")) == [
            "ShepardReconcilerFunction",
            "ShepardSchedulerFunction",
            "ShepardSchedulerFunctionBatchingEndpoint",
        ]

    def test_the_emulator_holds_the_rule_sending_batch_job_ends_to_the_reconciler(
        self, created, aws_endpoint: str
    ):
        """The rule exists with its queue resolved to the flock's job queue ARN, targeting the reconciler."""
        stack, session, names = created
        events = session.client("events", endpoint_url=aws_endpoint)
        rule = events.describe_rule(Name=stack.resources["BatchJobEndRule"])
        pattern = json.loads(rule["EventPattern"])
        queue = session.client("batch", endpoint_url=aws_endpoint).describe_job_queues(
            jobQueues=[names.job_queue]
        )["jobQueues"][0]
        assert pattern["detail"] == {"status": ["FAILED", "SUCCEEDED"], "jobQueue": [queue["jobQueueArn"]]}
        [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert target["Arn"].endswith(f":function:{stack.resources['ShepardReconcilerFunction']}")

    def test_what_the_emulator_skips_is_applied_from_the_template(self, created, aws_endpoint: str):
        """The bucket notification, the secret and the TTL exist with the template's values."""
        _, session, names = created
        s3 = session.client("s3", endpoint_url=aws_endpoint)
        rules = s3.get_bucket_notification_configuration(Bucket=names.inputs_bucket)["QueueConfigurations"]
        assert [(r["QueueArn"].rsplit(":", 1)[1], r["Events"]) for r in rules] == [
            (names.queue, ["s3:ObjectCreated:*"])
        ]
        secrets = session.client("secretsmanager", endpoint_url=aws_endpoint)
        assert secrets.get_secret_value(SecretId=names.secret)["SecretString"] == "{}"
        ttl = session.client("dynamodb", endpoint_url=aws_endpoint).describe_time_to_live(
            TableName=names.table
        )
        assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "END_TIME"}

    def test_every_bucket_the_template_versions_is_versioned(self, created, aws_endpoint: str):
        """Buckets are versioned as the template says, so each upload's event names its own version."""
        stack, session, _ = created
        s3 = session.client("s3", endpoint_url=aws_endpoint)
        versioned = [
            logical_id
            for logical_id, resource in stack.template["Resources"].items()
            if resource["Type"] == "AWS::S3::Bucket"
            and "VersioningConfiguration" in resource["Properties"]
            and logical_id in stack.resources  # a bucket under a false condition is not created
        ]
        assert {"InputsS3Bucket", "OutputsS3Bucket", "ErrorsS3Bucket"} <= set(versioned)
        for logical_id in versioned:
            status = s3.get_bucket_versioning(Bucket=stack.resources[logical_id]).get("Status")
            assert status == "Enabled", logical_id

    def test_the_functions_use_a_job_definition_with_the_secret_and_string_values(
        self, created, aws_endpoint: str
    ):
        """The job definition the functions name carries the secret's ARN and Batch's string values."""
        stack, session, names = created
        function = stack.outputs["SchedulerFunction"]
        variables = session.client("lambda", endpoint_url=aws_endpoint).get_function_configuration(
            FunctionName=function
        )["Environment"]["Variables"]
        batch = session.client("batch", endpoint_url=aws_endpoint)
        definition = batch.describe_job_definitions(jobDefinitions=[variables["SHEPARD_JOB_DEFINITION"]])[
            "jobDefinitions"
        ][0]
        environment = {v["name"]: v["value"] for v in definition["containerProperties"]["environment"]}
        assert environment["SHEPARD_SECRET_STORE"].startswith("arn:aws:secretsmanager:")
        assert f":secret:{names.secret}" in environment["SHEPARD_SECRET_STORE"]
        assert environment["ULIMIT_FILENO"] == "20000"
        assert environment["SHEPARD_TABLE_NAME"] == names.table
        assert definition["retryStrategy"]["attempts"] == 3

    def test_the_event_source_mapping_is_disabled(self, created, aws_endpoint: str):
        """The emulator must not invoke the scheduler itself: the runner's poller feeds it."""
        stack, session, _ = created
        mapping = stack.resources[stack.of_type("AWS::Lambda::EventSourceMapping")[0]]
        found = session.client("lambda", endpoint_url=aws_endpoint).get_event_source_mapping(UUID=mapping)
        assert found["State"] in {"Disabled", "Disabling"}
