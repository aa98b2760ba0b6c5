"""A Batch job that waits for an instance its compute environment can never give, held there for a test.

The job needs NEEDS_VCPUS vCPUs from a managed compute environment of m5 instances (the largest has 96),
so AWS Batch would keep it waiting; moto's Batch is held by the BatchJobGate until the test ends.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shepard_testing._batch_gate import BatchJobGate

NEEDS_VCPUS: Final = 128
"""More vCPUs than the largest m5 (m5.24xlarge: 96), fewer than the compute environment's maxvCpus."""
WAITING_QUEUE: Final = "flock-queue"
WAITING_ENVIRONMENT: Final = "flock-ce"
_ASSUME_BATCH: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@contextlib.contextmanager
def batch_job_waiting_for_an_instance(endpoint: str, gate: BatchJobGate, region: str) -> Iterator[str]:
    """Submit the waiting job to the moto server at `endpoint`; yield its Batch job id while it is held."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name=region)
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region)
    batch = boto3.client("batch", endpoint_url=endpoint, region_name=region)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=_ASSUME_BATCH)["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName="batch-instances")["InstanceProfile"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="batch", Description="batch", VpcId=vpc)["GroupId"]
    batch.create_compute_environment(
        computeEnvironmentName=WAITING_ENVIRONMENT,
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 256,
            "desiredvCpus": 0,
            "instanceTypes": ["m5"],
            "subnets": [subnet],
            "securityGroupIds": [group],
            "instanceRole": profile,
        },
    )
    batch.create_job_queue(
        jobQueueName=WAITING_QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": WAITING_ENVIRONMENT}],
    )
    batch.register_job_definition(
        jobDefinitionName="flock-job",
        type="container",
        containerProperties={
            "image": "shepard-worker:latest",
            "resourceRequirements": [
                {"type": "VCPU", "value": str(NEEDS_VCPUS)},
                {"type": "MEMORY", "value": "2048"},
            ],
        },
    )
    submitter = threading.Thread(
        target=lambda: batch.submit_job(jobName="big", jobQueue=WAITING_QUEUE, jobDefinition="flock-job"),
        daemon=True,
    )
    submitter.start()
    while not (listed := batch.list_jobs(jobQueue=WAITING_QUEUE, jobStatus="SUBMITTED")["jobSummaryList"]):
        if not submitter.is_alive():
            raise RuntimeError("the waiting Batch job ended before it could be held")
    try:
        yield listed[0]["jobId"]
    finally:
        gate.release()
        submitter.join()
