"""GPUsPerJob: jobs request that many GPUs and the instances run the ECS GPU AMI, only when it is above 0."""

from __future__ import annotations

from typing import Any

import pytest

GPU_AMI = "ECS_AL2023_NVIDIA"
PLAIN_AMI = "ECS_AL2023"


def _job_definition(stack) -> dict[str, Any]:
    return stack.client("batch").describe_job_definitions(jobDefinitions=[stack.outputs["JobDefinition"]])[
        "jobDefinitions"
    ][0]


def _compute_resources(stack) -> dict[str, Any]:
    return stack.client("batch").describe_compute_environments(
        computeEnvironments=[stack.resources["ComputeEnvironment"]]
    )["computeEnvironments"][0]["computeResources"]


def _requirements(stack) -> dict[str, str]:
    pairs = _job_definition(stack)["containerProperties"]["resourceRequirements"]
    return {pair["type"]: str(pair["value"]) for pair in pairs}


class TestGPUParameter:
    def test_gpus_per_job_is_a_number_from_0_to_8_defaulting_to_none(self, template):
        """GPUsPerJob is a Number, 0 (no GPU) by default, at most 8 (the most GPUs an EC2 instance has)."""
        parameter = template["Parameters"]["GPUsPerJob"]
        assert parameter["Type"] == "Number"
        assert parameter["Default"] == 0
        assert parameter["MinValue"] == 0
        assert parameter["MaxValue"] == 8

    def test_gpu_jobs_must_name_gpu_instance_types(self, template):
        """A rule refuses GPUsPerJob above 0 with InstanceTypes "optimal" (no GPU instance in it)."""
        rule = template["Rules"]["GPUJobsNameGPUInstanceTypes"]
        assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "GPUsPerJob"}, "0"]}]}
        [assertion] = rule["Assertions"]
        assert assertion["Assert"] == {"Fn::Not": [{"Fn::Contains": [{"Ref": "InstanceTypes"}, "optimal"]}]}

    def test_the_ami_and_the_gpu_requirement_hang_on_one_condition(self, template):
        """The compute environment's image type and the job's GPU requirement both follow HasGPUs."""
        assert template["Conditions"]["HasGPUs"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "GPUsPerJob"}, 0]}]}
        resources = template["Resources"]
        [configuration] = resources["ComputeEnvironment"]["Properties"]["ComputeResources"][
            "Ec2Configuration"
        ]
        assert configuration["ImageType"] == {"Fn::If": ["HasGPUs", GPU_AMI, PLAIN_AMI]}
        requirements = resources["JobDefinition"]["Properties"]["ContainerProperties"]["ResourceRequirements"]
        condition, with_gpus, without = requirements["Fn::If"]
        assert condition == "HasGPUs"
        assert with_gpus == [*without, {"Type": "GPU", "Value": {"Ref": "GPUsPerJob"}}]
        assert [pair["Type"] for pair in without] == ["VCPU", "MEMORY"]


class TestGPUStack:
    def test_by_default_jobs_get_no_gpu_and_instances_the_plain_ami(self, stack):
        """With GPUsPerJob 0 the job asks for vCPUs and memory only, on the plain ECS AL2023 AMI."""
        assert _requirements(stack) == {"VCPU": "1", "MEMORY": "2048"}
        assert _compute_resources(stack)["ec2Configuration"] == [{"imageType": PLAIN_AMI}]

    @pytest.mark.parametrize(("gpus", "instance_types"), [("1", "g5"), ("4", "g6.12xlarge,p4d.24xlarge")])
    def test_gpu_jobs_request_their_gpus_on_the_gpu_ami(self, make_stack, gpus, instance_types):
        """With GPUsPerJob N the job definition requests N GPUs and instances run ECS_AL2023_NVIDIA."""
        stack = make_stack(GPUsPerJob=gpus, InstanceTypes=instance_types)
        assert _requirements(stack) == {"VCPU": "1", "MEMORY": "2048", "GPU": gpus}
        resources = _compute_resources(stack)
        assert resources["ec2Configuration"] == [{"imageType": GPU_AMI}]
        assert resources["instanceTypes"] == instance_types.split(",")
