"""Create the flock in the emulator's CloudFormation from the generated template, then add what it skips.

The emulator's CloudFormation models most of the template. What it cannot take is replaced in a copy of
the template, never in the template itself: the Powertools layer (an SSM dynamic reference it does not
resolve) becomes a placeholder layer, the compute environment gets the service role it insists on, and
outputs of resource types it does not model go. What it skips is done directly afterwards: the inputs
bucket's notification to the queue, the secret, and the table's TTL. The SQS event source mapping is
disabled, since the emulator would invoke the function inside SendMessage; the runner's poller feeds
the scheduler instead. The job definition's environment refers to the skipped secret and holds numbers
where Batch holds strings, so a corrected revision is registered and the functions pointed at it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import time
import zipfile
from typing import TYPE_CHECKING, Any, Final

from shepard_cli.local._handlers import load_template

if TYPE_CHECKING:
    from pathlib import Path

    import boto3

    from shepard_cli.local._flock import FlockNames

POWERTOOLS_LAYER: Final = "{{resolve:ssm:/aws/service/powertools/python/x86_64/python3.13/latest}}"
CREATE_TIMEOUT_SECONDS: Final = 180
LOCAL_PARAMETERS: Final = {
    # The emulator does not split a CommaDelimitedList default.
    "InstanceTypes": "optimal",
    # The most open files a container may have on the Docker engines this runs on.
    "UlimitsNoFilesOpen": "20000",
}


class StackError(Exception):
    """The flock's stack could not be created from the template."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stack:
    """The created stack: its outputs and the physical ids of its resources, by logical id."""

    name: str
    outputs: dict[str, str]
    resources: dict[str, str]
    types: dict[str, str]

    def of_type(self, resource_type: str) -> list[str]:
        """Return the logical ids of the stack's resources of `resource_type`."""
        return sorted(logical for logical, kind in self.types.items() if kind == resource_type)


def stack_parameters(names: FlockNames) -> dict[str, str]:
    """Return the template parameters that give the flock its local names."""
    return {
        "InputsBucket": names.inputs_bucket,
        "OutputsBucket": names.outputs_bucket,
        "ErrorsBucket": names.errors_bucket,
        "QuickDeployBucket": names.quick_deploy_bucket,
        "TableName": names.table,
        "SecretsManagerName": names.secret,
        "SQSName": names.queue,
        "ECRRepoName": names.ecr_repo,
        "QueueName": names.job_queue,
        "JobDefinitionName": names.job_definition,
        "ProjectName": names.prefix,
        **LOCAL_PARAMETERS,
    }


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def emulator_compatible(template: dict[str, Any], *, layer_arn: str, service_role_arn: str) -> dict[str, Any]:
    """Return a copy of `template` with what the emulator's CloudFormation cannot take replaced."""
    compatible = copy.deepcopy(template)
    resources: dict[str, Any] = compatible["Resources"]
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if properties.get("Layers") == [POWERTOOLS_LAYER]:
            properties["Layers"] = [layer_arn]
        if resource.get("Type") == "AWS::Batch::ComputeEnvironment":
            properties["ServiceRole"] = service_role_arn
    unmodeled = {name for name, resource in resources.items() if resource.get("Type") == "AWS::Lambda::Url"}
    compatible["Outputs"] = {
        name: output
        for name, output in compatible.get("Outputs", {}).items()
        if not (
            isinstance(output.get("Value"), dict) and output["Value"].get("Fn::GetAtt", [""])[0] in unmodeled
        )
    }
    return compatible


def create_stack(session: boto3.Session, endpoint: str, names: FlockNames, template: Path) -> Stack:
    """Create the flock's stack from `template` and wire up what the emulator skips; return the stack."""
    lambda_client = session.client("lambda", endpoint_url=endpoint)
    layer_arn = lambda_client.publish_layer_version(
        LayerName="AWSLambdaPowertoolsPythonV3-python313-x86_64",
        Content={"ZipFile": _zip({"python/aws_lambda_powertools/__init__.py": ""})},
        CompatibleRuntimes=["python3.13"],
    )["LayerVersionArn"]
    service_role = session.client("iam", endpoint_url=endpoint).create_role(
        RoleName=f"{names.prefix}-batch-service", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    body = emulator_compatible(load_template(template), layer_arn=layer_arn, service_role_arn=service_role)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(
        StackName=names.stack,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack_parameters(names).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    deadline = time.monotonic() + CREATE_TIMEOUT_SECONDS
    while True:
        described = cloudformation.describe_stacks(StackName=names.stack)["Stacks"][0]
        if not described["StackStatus"].endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise StackError(
                f"the stack was still {described['StackStatus']} after {CREATE_TIMEOUT_SECONDS} s"
            )
        time.sleep(0.2)
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(
            f"creating the stack from {template} ended {described['StackStatus']}: "
            f"{described.get('StackStatusReason', 'no reason given')}"
        )
    summaries = cloudformation.list_stack_resources(StackName=names.stack)["StackResourceSummaries"]
    stack = Stack(
        name=names.stack,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        resources={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        types={s["LogicalResourceId"]: s["ResourceType"] for s in summaries},
    )
    _complete(session, endpoint, names, stack)
    return stack


def _complete(session: boto3.Session, endpoint: str, names: FlockNames, stack: Stack) -> None:
    lambda_client = session.client("lambda", endpoint_url=endpoint)
    for logical_id in stack.of_type("AWS::Lambda::EventSourceMapping"):
        lambda_client.update_event_source_mapping(UUID=stack.resources[logical_id], Enabled=False)
    sqs = session.client("sqs", endpoint_url=endpoint)
    queue_url = sqs.get_queue_url(QueueName=names.queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    session.client("s3", endpoint_url=endpoint).put_bucket_notification_configuration(
        Bucket=names.inputs_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    with contextlib.suppress(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(Name=names.secret, SecretString="{}")
    definition_arn = _repair_job_definition(session, endpoint, names, stack)
    for logical_id in stack.of_type("AWS::Lambda::Function"):
        function = stack.resources[logical_id]
        variables = function_environment(session, endpoint, function)
        if "SHEPARD_JOB_DEFINITION" in variables:
            variables["SHEPARD_JOB_DEFINITION"] = definition_arn
            lambda_client.update_function_configuration(
                FunctionName=function, Environment={"Variables": variables}
            )
    session.client("dynamodb", endpoint_url=endpoint).update_time_to_live(
        TableName=names.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "END_TIME"}
    )


def _repair_job_definition(session: boto3.Session, endpoint: str, names: FlockNames, stack: Stack) -> str:
    batch = session.client("batch", endpoint_url=endpoint)
    created = [stack.resources[i] for i in stack.of_type("AWS::Batch::JobDefinition")]
    found = batch.describe_job_definitions(jobDefinitions=created)["jobDefinitions"]
    if not found:
        raise StackError("the stack made no Batch job definition")
    definition: dict[str, Any] = dict(found[0])
    container: dict[str, Any] = dict(definition["containerProperties"])
    environment = []
    for variable in container.get("environment", []):
        value = variable.get("value")
        if variable["name"] == "SHEPARD_SECRET_STORE" and value is None:
            value = names.secret
        environment.append({"name": variable["name"], "value": "" if value is None else str(value)})
    container["environment"] = environment
    container["resourceRequirements"] = [
        {"type": r["type"], "value": str(r["value"])} for r in container.get("resourceRequirements", [])
    ]
    registered = batch.register_job_definition(
        jobDefinitionName=definition["jobDefinitionName"],
        type=definition.get("type", "container"),
        containerProperties=container,  # type: ignore[arg-type]
        retryStrategy=definition.get("retryStrategy", {}),
    )
    batch.deregister_job_definition(jobDefinition=definition["jobDefinitionArn"])
    return registered["jobDefinitionArn"]


def function_environment(session: boto3.Session, endpoint: str, function: str) -> dict[str, str]:
    """Return the environment variables the stack gave the Lambda function `function`."""
    configuration = session.client("lambda", endpoint_url=endpoint).get_function_configuration(
        FunctionName=function
    )
    return {str(k): str(v) for k, v in configuration.get("Environment", {}).get("Variables", {}).items()}
