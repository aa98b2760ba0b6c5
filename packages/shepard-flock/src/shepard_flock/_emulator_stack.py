"""Create a flock's stack in an AWS emulator's CloudFormation (moto), from an emulator-compatible copy.

The emulator models most of the template. What it cannot take is replaced in a copy of the template,
never in the template itself: the Powertools layer (an SSM dynamic reference it does not resolve) becomes
a placeholder layer published under the real layer's name, the compute environment gets the service role
the emulator insists on (AWS uses Batch's service-linked role), and outputs of resource types it does not
model (the function URL) go.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import time
import zipfile
from typing import TYPE_CHECKING, Any, Final

from shepard_flock._lambda_runtime import LAMBDA_RUNTIME, POWERTOOLS_LAYER, POWERTOOLS_LAYER_NAME

if TYPE_CHECKING:
    from collections.abc import Mapping

    import boto3

CREATE_TIMEOUT_SECONDS: Final = 180
CAPABILITIES: Final = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
"""What a flock's stack acknowledges: it creates IAM roles, some of them named."""
UNMODELED_TYPES: Final = frozenset({"AWS::Lambda::Url"})
"""Resource types the emulator does not model: outputs that refer to them cannot be resolved."""


class StackError(Exception):
    """The flock's stack could not be created in the emulator."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Stack:
    """A created stack: its outputs, its resources' physical ids and types, and the copy it came from."""

    name: str
    outputs: dict[str, str]
    resources: dict[str, str]
    types: dict[str, str]
    template: dict[str, Any] = dataclasses.field(repr=False, default_factory=dict)
    layer_arn: str = ""

    def of_type(self, resource_type: str) -> list[str]:
        """Return the logical ids of the stack's resources of `resource_type`."""
        return sorted(logical for logical, kind in self.types.items() if kind == resource_type)


def _refers_to(value: Any, logical_ids: set[str]) -> bool:  # noqa: ANN401 - template values are untyped
    return isinstance(value, dict) and value.get("Fn::GetAtt", [""])[0] in logical_ids


def emulator_compatible(template: dict[str, Any], *, layer_arn: str, service_role_arn: str) -> dict[str, Any]:
    """Return a copy of `template` with what the emulator's CloudFormation cannot take replaced."""
    compatible = copy.deepcopy(template)
    resources: dict[str, Any] = compatible["Resources"]
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if properties.get("Layers"):
            properties["Layers"] = [
                layer_arn if layer == POWERTOOLS_LAYER else layer for layer in properties["Layers"]
            ]
        if resource.get("Type") == "AWS::Batch::ComputeEnvironment":
            properties["ServiceRole"] = service_role_arn
    unmodeled = {name for name, resource in resources.items() if resource.get("Type") in UNMODELED_TYPES}
    compatible["Outputs"] = {
        name: output
        for name, output in compatible.get("Outputs", {}).items()
        if not _refers_to(output.get("Value"), unmodeled)
    }
    return compatible


def publish_placeholder_layer(session: boto3.Session, endpoint: str) -> str:
    """Publish an empty stand-in for the Powertools layer in the emulator; return its version's ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("python/aws_lambda_powertools/__init__.py", "")
    return session.client("lambda", endpoint_url=endpoint).publish_layer_version(
        LayerName=POWERTOOLS_LAYER_NAME,
        Content={"ZipFile": archive.getvalue()},
        CompatibleRuntimes=[LAMBDA_RUNTIME],  # type: ignore[list-item]
    )["LayerVersionArn"]


def _await_stack(session: boto3.Session, endpoint: str, name: str, timeout: float) -> dict[str, Any]:
    """Wait until the stack's creation has ended; return its description, or raise StackError."""
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    deadline = time.monotonic() + timeout
    while True:
        described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        if not described["StackStatus"].endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise StackError(f"the stack was still {described['StackStatus']} after {timeout:g} s")
        time.sleep(0.1)
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(
            f"creating the stack {name} ended {described['StackStatus']}: "
            f"{described.get('StackStatusReason', 'no reason given')}"
        )
    return dict(described)


def create_emulated_stack(  # noqa: PLR0913 - every part of a stack request
    session: boto3.Session,
    endpoint: str,
    *,
    name: str,
    template: dict[str, Any],
    parameters: Mapping[str, str],
    service_role_name: str = "batch-service-role",
    timeout: float = CREATE_TIMEOUT_SECONDS,
) -> Stack:
    """Create the stack `name` from an emulator-compatible copy of `template` and wait for it."""
    layer_arn = publish_placeholder_layer(session, endpoint)
    service_role = session.client("iam", endpoint_url=endpoint).create_role(
        RoleName=service_role_name, AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    body = emulator_compatible(template, layer_arn=layer_arn, service_role_arn=service_role)
    cloudformation = session.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,  # type: ignore[arg-type]
    )
    described = _await_stack(session, endpoint, name, timeout)
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return Stack(
        name=name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        resources={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        types={s["LogicalResourceId"]: s["ResourceType"] for s in summaries},
        template=body,
        layer_arn=layer_arn,
    )
