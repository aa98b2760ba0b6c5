"""The flock's stack in an AWS emulator: the compatible copy of the template, and the created stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from shepard_flock import (
    FLOCK_VALUES,
    POWERTOOLS_LAYER,
    POWERTOOLS_LAYER_NAME,
    create_emulated_stack,
    emulator_compatible,
    load_template,
)

if TYPE_CHECKING:
    from pathlib import Path

PARAMETERS = {
    "InputsBucket": "unit-inputs",
    "OutputsBucket": "unit-outputs",
    "ErrorsBucket": "unit-errors",
    "QuickDeployBucket": "unit-quick-deploy",
    "TableName": "unit-jobs",
    "ECRRepoName": "unit-repo",
    # moto does not split a CommaDelimitedList default.
    "InstanceTypes": "optimal",
}


class TestEmulatorCompatible:
    def test_only_what_the_emulator_cannot_take_is_replaced(self, template: Path):
        """The layer and the compute environment's role are filled in, function-URL outputs dropped."""
        template = load_template(template)
        compatible = emulator_compatible(template, layer_arn="arn:layer", service_role_arn="arn:role")
        layers = [
            resource["Properties"]["Layers"]
            for resource in compatible["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
        ]
        assert layers == [["arn:layer"]] * 3  # the scheduler, the endpoint and the reconciler
        assert compatible["Resources"]["ComputeEnvironment"]["Properties"]["ServiceRole"] == "arn:role"
        assert "BatchingEndpointFunctionUrl" not in compatible["Outputs"]
        assert set(compatible["Resources"]) == set(template["Resources"])
        assert template["Resources"]["ComputeEnvironment"]["Properties"].get("ServiceRole") != "arn:role"

    def test_other_layers_are_kept(self):
        """Only the Powertools layer is swapped; a layer of the user's own stays as it is."""
        template = {
            "Resources": {
                "F": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Layers": [POWERTOOLS_LAYER, "arn:mine"]},
                }
            }
        }
        compatible = emulator_compatible(template, layer_arn="arn:layer", service_role_arn="arn:role")
        assert compatible["Resources"]["F"]["Properties"]["Layers"] == ["arn:layer", "arn:mine"]


# The emulator warns about each resource type it skips (the queue and bucket policies); they are known.
@pytest.mark.filterwarnings("ignore:Tried to parse .* but it.s not supported by moto:UserWarning")
class TestCreateEmulatedStack:
    def test_the_generated_template_creates_a_stack_with_the_cli_s_outputs(self, aws_endpoint, template):
        """The whole template creates in moto; the outputs a CLI profile is filled from are there."""
        session = boto3.Session(region_name="us-east-1")
        stack = create_emulated_stack(
            session, aws_endpoint, name="unit", template=load_template(template), parameters=PARAMETERS
        )
        assert stack.outputs["InputsBucket"] == "unit-inputs"
        assert stack.outputs["TableName"] == "unit-jobs"
        # moto's CloudFormation skips the secret, so its output is missing (shepard-local creates it after).
        assert {value.output for value in FLOCK_VALUES} - {"SecretStore"} <= set(stack.outputs)
        assert stack.of_type("AWS::Lambda::Function") == [
            "ShepardReconcilerFunction",
            "ShepardSchedulerFunction",
            "ShepardSchedulerFunctionBatchingEndpoint",
        ]
        assert f":layer:{POWERTOOLS_LAYER_NAME}:" in stack.layer_arn
        scheduler = stack.template["Resources"]["ShepardSchedulerFunction"]["Properties"]
        assert scheduler["Layers"] == [stack.layer_arn]
