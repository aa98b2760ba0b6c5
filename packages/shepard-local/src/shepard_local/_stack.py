"""Create the local flock's stack from the generated template, then add what the emulator skips.

The stack itself is created by shepard_flock (`create_emulated_stack`, from an emulator-compatible copy
of the template). What the emulator's CloudFormation skips is applied afterwards, each value taken from
the template's own properties and resolved against the created stack: buckets' notifications, secrets,
tables' TTL. The SQS event source mapping is disabled, since the emulator would invoke the function
inside SendMessage; the runner's poller feeds the scheduler instead. The job definition's environment
refers to the skipped secret and holds numbers where Batch holds strings, so a corrected revision is
registered and the functions pointed at it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Setting
from shepard_flock import Stack, StackError, TemplateError, create_emulated_stack, load_template

from shepard_local._intrinsics import IntrinsicError, StackValues, parameter_values
from shepard_local._state import REGION

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import boto3
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import QueueConfigurationTypeDef

    from shepard_local._state import FlockNames

__all__ = ["Stack", "StackError", "create_stack", "function_environment", "stack_parameters", "stack_values"]

ACCOUNT: Final = "123456789012"
"""The account the emulator answers for."""
LOCAL_PARAMETERS: Final = {
    # The emulator does not split a CommaDelimitedList default.
    "InstanceTypes": "optimal",
    # The most open files a container may have on the Docker engines this runs on.
    "UlimitsNoFilesOpen": "20000",
}


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


def create_stack(
    session: boto3.Session,
    endpoint: str,
    names: FlockNames,
    template: Path,
    overrides: Mapping[str, str] | None = None,
) -> Stack:
    """Create the flock's stack from `template` and wire up what the emulator skips; return the stack.

    `overrides` sets template parameters beside the flock's names (e.g. the scheduler's batching window).
    """
    parameters = {**stack_parameters(names), **(overrides or {})}
    try:
        document = load_template(template)
    except TemplateError as exc:
        raise StackError(str(exc)) from None
    try:
        stack = create_emulated_stack(
            session,
            endpoint,
            name=names.stack,
            template=document,
            parameters=parameters,
            service_role_name=f"{names.prefix}-batch-service",
        )
    except StackError as exc:
        raise StackError(f"{exc} (template {template})") from None
    _complete(session, endpoint, stack, stack_values(session, endpoint, stack.template, parameters, stack))
    return stack


def stack_values(
    session: boto3.Session, endpoint: str, template: dict[str, Any], parameters: dict[str, str], stack: Stack
) -> StackValues:
    """Return what the template's intrinsic functions refer to in the created `stack`."""
    sqs = session.client("sqs", endpoint_url=endpoint)

    def attribute(logical_id: str, name: str) -> str:
        kind = stack.types.get(logical_id)
        if kind == "AWS::SQS::Queue" and name == "Arn":
            found = sqs.get_queue_attributes(
                QueueUrl=stack.resources[logical_id], AttributeNames=["QueueArn"]
            )
            return found["Attributes"]["QueueArn"]
        raise IntrinsicError(f"the local flock cannot look up {logical_id}.{name} ({kind})")

    return StackValues(
        parameters={
            **parameter_values(template, parameters),
            "AWS::Region": REGION,
            "AWS::StackName": stack.name,
            "AWS::AccountId": ACCOUNT,
        },
        resources=stack.resources,
        attribute=attribute,
        conditions=template.get("Conditions", {}),
    )


def _present(template: dict[str, Any], values: StackValues, resource_type: str) -> dict[str, dict[str, Any]]:
    """Return the template's resources of `resource_type` whose condition holds, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
        and ("Condition" not in resource or values.condition(str(resource["Condition"])))
    }


def _complete_buckets(s3: S3Client, stack: Stack, values: StackValues) -> None:
    """Apply the buckets' versioning and queue notifications, which the emulator's CloudFormation skips."""
    for logical_id, resource in _present(stack.template, values, "AWS::S3::Bucket").items():
        versioning = values.resolve(resource["Properties"].get("VersioningConfiguration"))
        if versioning:
            # Before any upload: a versioned inputs bucket gives each upload's event its own version id.
            s3.put_bucket_versioning(
                Bucket=stack.resources[logical_id],
                VersioningConfiguration={"Status": str(versioning["Status"])},  # type: ignore[typeddict-item]
            )
        notifications = values.resolve(resource["Properties"].get("NotificationConfiguration", {}))
        queues: list[QueueConfigurationTypeDef] = [
            {"QueueArn": str(rule["Queue"]), "Events": [str(rule["Event"])]}  # type: ignore[list-item]
            for rule in notifications.get("QueueConfigurations", [])
        ]
        if queues:
            s3.put_bucket_notification_configuration(
                Bucket=stack.resources[logical_id], NotificationConfiguration={"QueueConfigurations": queues}
            )


def _complete(session: boto3.Session, endpoint: str, stack: Stack, values: StackValues) -> StackValues:
    """Apply what the emulator skipped, each from the template's own properties; return the values."""
    template = stack.template
    lambda_client = session.client("lambda", endpoint_url=endpoint)
    for logical_id in stack.of_type("AWS::Lambda::EventSourceMapping"):
        # The runner's poller feeds the scheduler; the emulator would invoke it inside SendMessage.
        lambda_client.update_event_source_mapping(UUID=stack.resources[logical_id], Enabled=False)
    _complete_buckets(session.client("s3", endpoint_url=endpoint), stack, values)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    created: dict[str, str] = {}
    for logical_id, resource in _present(template, values, "AWS::SecretsManager::Secret").items():
        properties = values.resolve(resource["Properties"])
        name = str(properties.get("Name") or f"{stack.name}-{logical_id}")
        content = str(properties.get("SecretString", "{}"))
        try:
            arn = secrets.create_secret(Name=name, SecretString=content)["ARN"]
        except secrets.exceptions.ResourceExistsException:
            arn = secrets.describe_secret(SecretId=name)["ARN"]
        created[logical_id] = arn  # Ref of a secret is its ARN
    values = dataclasses.replace(values, resources={**values.resources, **created})
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    for logical_id, resource in _present(template, values, "AWS::DynamoDB::Table").items():
        ttl = values.resolve(resource["Properties"].get("TimeToLiveSpecification"))
        if ttl:
            specification = {"Enabled": bool(ttl["Enabled"]), "AttributeName": str(ttl["AttributeName"])}
            dynamodb.update_time_to_live(
                TableName=stack.resources[logical_id],
                TimeToLiveSpecification=specification,  # type: ignore[arg-type]
            )
    definition_arn = _repair_job_definition(session, endpoint, stack, values)
    for logical_id in stack.of_type("AWS::Lambda::Function"):
        function = stack.resources[logical_id]
        variables = function_environment(session, endpoint, function)
        if Setting.JOB_DEFINITION in variables:
            variables[Setting.JOB_DEFINITION] = definition_arn
            lambda_client.update_function_configuration(
                FunctionName=function, Environment={"Variables": variables}
            )
    return values


def _repair_job_definition(session: boto3.Session, endpoint: str, stack: Stack, values: StackValues) -> str:
    """Register the job definition again with the values the emulator left out, as Batch's strings."""
    batch = session.client("batch", endpoint_url=endpoint)
    logical_ids = stack.of_type("AWS::Batch::JobDefinition")
    found = batch.describe_job_definitions(jobDefinitions=[stack.resources[i] for i in logical_ids])[
        "jobDefinitions"
    ]
    if not found:
        raise StackError("the stack made no Batch job definition")
    declared = stack.template["Resources"][logical_ids[0]]["Properties"]["ContainerProperties"]
    # Variables whose resource the emulator skipped (the secret) came out empty: resolve them again.
    expected = {str(v["Name"]): v["Value"] for v in declared.get("Environment", [])}
    definition: dict[str, Any] = dict(found[0])
    container: dict[str, Any] = dict(definition["containerProperties"])
    environment = []
    for variable in container.get("environment", []):
        value = variable.get("value")
        if value is None and variable["name"] in expected:
            value = values.resolve(expected[variable["name"]])
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
