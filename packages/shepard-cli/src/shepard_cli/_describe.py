"""describe: a flock's CloudFormation parameters, outputs and resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


def describe_stack(cloudformation: CloudFormationClient, stack: str) -> dict[str, Any]:
    """Return the stack's status, parameters, outputs, dashboard URL and resources as a JSON-ready dict."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    resources = []
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        resources += [
            {
                "logical_id": r.get("LogicalResourceId"),
                "physical_id": r.get("PhysicalResourceId"),
                "type": r.get("ResourceType"),
                "status": r.get("ResourceStatus"),
            }
            for r in page.get("StackResourceSummaries", [])
        ]
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in described.get("Outputs", [])}
    return {
        "name": described["StackName"],
        "status": described["StackStatus"],
        "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])},
        "outputs": outputs,
        "dashboard_url": outputs.get("DashboardUrl"),
        "resources": resources,
    }
