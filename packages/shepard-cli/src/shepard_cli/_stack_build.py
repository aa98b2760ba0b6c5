"""build-flock: create or update a flock's stack from the generated template, staged through S3."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError, WaiterError

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client

INLINE_TEMPLATE_LIMIT: Final = 51_200
"""The largest template body CloudFormation takes inline; a larger one must come from S3."""

CAPABILITIES: Final = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


@dataclasses.dataclass(frozen=True)
class StackBuild:
    """What build_stack did to the stack and where it ended."""

    stack: str
    action: str  # "created", "updated" or "unchanged"
    status: str
    outputs: dict[str, str]
    template_url: str | None


def parse_parameters(pairs: Iterable[str]) -> dict[str, str]:
    """Return `Key=Value` pairs as a mapping; a malformed or repeated key is a CliError."""
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(
                f"--parameter {pair!r} is not Key=Value", "Write it as, e.g., InputsBucket=my-inputs"
            )
        if key in parameters:
            raise CliError(f"--parameter {key} is given twice", "Keep one of them")
        parameters[key] = value
    return parameters


def stage_template(s3: S3Client, body: bytes, *, stack: str, bucket: str, region: str) -> str:
    """Upload the template to the staging bucket under its content hash and return its TemplateURL."""
    digest = hashlib.sha256(body).hexdigest()[:16]
    key = f"shepard-templates/{stack}/{digest}.yml"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-yaml")
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def _stack_exists(cloudformation: CloudFormationClient, stack: str) -> bool:
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return bool(described) and described[0]["StackStatus"] != "DELETE_COMPLETE"


def _failure_reasons(cloudformation: CloudFormationClient, stack: str) -> str:
    events = cloudformation.describe_stack_events(StackName=stack).get("StackEvents", [])
    reasons = [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', event['ResourceStatus'])}"
        for event in events
        if event["ResourceStatus"].endswith("_FAILED")
    ]
    return "; ".join(reasons[:5]) or "no failed resource was reported"


def build_stack(  # noqa: PLR0913 - every part of a stack request
    cloudformation: CloudFormationClient,
    s3: S3Client,
    *,
    stack: str,
    template: Path,
    parameters: dict[str, str],
    staging_bucket: str | None,
    region: str,
    wait_delay: int = 10,
) -> StackBuild:
    """Create the stack, or update it when it exists, and wait until CloudFormation has finished."""
    body = template.read_bytes()
    source: dict[str, Any]
    template_url: str | None = None
    if len(body) > INLINE_TEMPLATE_LIMIT:
        if not staging_bucket:
            raise CliError(
                f"{template} is {len(body):,} bytes, over the {INLINE_TEMPLATE_LIMIT:,} bytes "
                "CloudFormation takes inline",
                "Name an S3 bucket to stage it in with --staging-bucket",
            )
        template_url = stage_template(s3, body, stack=stack, bucket=staging_bucket, region=region)
        source = {"TemplateURL": template_url}
    else:
        source = {"TemplateBody": body.decode("utf-8")}
    request: dict[str, Any] = {
        "StackName": stack,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())],
        "Capabilities": CAPABILITIES,
        **source,
    }
    if _stack_exists(cloudformation, stack):
        try:
            cloudformation.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            return _finish(cloudformation, stack, "unchanged", template_url)
        action, waiter_name = "updated", "stack_update_complete"
    else:
        cloudformation.create_stack(**request)
        action, waiter_name = "created", "stack_create_complete"
    try:
        cloudformation.get_waiter(waiter_name).wait(  # type: ignore[call-overload]
            StackName=stack, WaiterConfig={"Delay": wait_delay, "MaxAttempts": 720}
        )
    except WaiterError:
        raise CliError(
            f"stack {stack} was not {action}: {_failure_reasons(cloudformation, stack)}",
            f"See `shepard describe --cloudformation-to-describe {stack}` and the stack's events",
        ) from None
    return _finish(cloudformation, stack, action, template_url)


def _finish(
    cloudformation: CloudFormationClient, stack: str, action: str, template_url: str | None
) -> StackBuild:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])}
    return StackBuild(stack, action, described["StackStatus"], outputs, template_url)
