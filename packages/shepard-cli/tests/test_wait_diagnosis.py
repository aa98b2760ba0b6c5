"""Why a job waits, from AWS answers: every classic cause is named in plain words, and only when it holds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from shepard_cli._wait_diagnosis import diagnose
from shepard_cli._wait_sizes import instance_sizes, instance_type_patterns, job_needs
from shepard_cli._wait_threshold import parse_duration

RECORDED = json.loads((Path(__file__).parent / "recorded" / "batch_waiting_job.json").read_text())


def answers():
    """Return a fresh copy of the job, queue, compute environment, definition and m5 sizes."""
    recorded = copy.deepcopy(RECORDED)
    return (
        recorded["DescribeJobs"]["jobs"][0],
        recorded["DescribeJobQueues"]["jobQueues"][0],
        recorded["DescribeComputeEnvironments"]["computeEnvironments"][0],
        recorded["DescribeJobDefinitions"]["jobDefinitions"][0],
        instance_sizes(recorded["DescribeInstanceTypes"]["InstanceTypes"]),
    )


def needs(job, vcpus, memory):
    """Set the job's resourceRequirements to `vcpus` and `memory` MiB."""
    job["container"]["resourceRequirements"] = [
        {"type": "VCPU", "value": str(vcpus)},
        {"type": "MEMORY", "value": str(memory)},
    ]


def run(job, queue, environment, definition=None, sizes=None):
    """Return the diagnosis of `job` with one queue and one compute environment."""
    return diagnose(
        job,
        queue=queue,
        environments={environment["computeEnvironmentArn"]: environment},
        sizes=sizes,
        definition=definition,
    )


class TestInstanceFit:
    def test_more_vcpus_than_any_instance_type_is_named_with_the_largest(self):
        """128 vCPUs on m5 (at most 96): no instance type fits, and the largest m5 is named."""
        job, queue, environment, _, sizes = answers()
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary.startswith("no instance type in the compute environment ComputeEnvironment-")
        assert "InstanceTypes (m5.*) has 128 vCPUs and 2,048 MiB" in found.summary
        assert "m5.24xlarge: 96 vCPUs, 393,216 MiB" in found.summary
        # Batch's own code says the same: it is not repeated as a second cause
        assert len(found.causes) == 1
        assert found.details["status_reason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")

    def test_more_memory_than_any_instance_type(self):
        """4 vCPUs but 500,000 MiB on m5 (at most 393,216 MiB): no instance type fits."""
        job, queue, environment, _, sizes = answers()
        needs(job, 4, 500_000)
        found = run(job, queue, environment, sizes=sizes)
        assert "has 4 vCPUs and 500,000 MiB of memory" in found.summary

    def test_a_job_that_fits_one_size_is_not_said_not_to_fit(self):
        """96 vCPUs and 393,216 MiB is exactly m5.24xlarge: no fit cause."""
        job, queue, environment, _, sizes = answers()
        needs(job, 96, 393_216)
        job["statusReason"] = None
        found = run(job, queue, environment, sizes=sizes)
        assert found.causes == []
        assert found.summary.startswith("no cause found: the queue and compute environments are healthy")

    def test_unknown_sizes_judge_no_fit(self):
        """When EC2's sizes could not be read, fit is not judged; Batch's own reason is worded instead."""
        job, queue, environment, _, _ = answers()
        found = run(job, queue, environment, sizes=None)
        assert found.causes == [
            (
                "AWS Batch says no instance type the compute environment may launch (InstanceTypes) has the "
                "vCPUs and memory the job asks for, so it can never be placed"
            )
        ]

    def test_the_job_definition_gives_what_the_job_leaves_out(self):
        """A job without resourceRequirements asks for what its definition says."""
        job, _, _, definition, _ = answers()
        job["container"].pop("resourceRequirements")
        assert job_needs(job, definition).to_json() == {"vcpus": 1.0, "memory_mib": 2048}
        assert job_needs(job).to_json() == {"vcpus": None, "memory_mib": None}

    @pytest.mark.parametrize(
        ("types", "patterns"),
        [
            (["m5"], ["m5.*"]),
            (["m5.large", "c5"], ["m5.large", "c5.*"]),
            (["optimal"], ["c4.*", "m4.*", "r4.*", "c5.*", "m5.*", "r5.*"]),
            (["p3.2xlarge", "P3.2XLARGE"], ["p3.2xlarge"]),
        ],
    )
    def test_instance_types_stand_for_sizes(self, types, patterns):
        """A size stands for itself, a family for its sizes, `optimal` for the families Batch picks from."""
        assert instance_type_patterns(types) == patterns


class TestComputeEnvironment:
    def test_at_its_max_vcpus(self):
        """Every vCPU of the compute environment in use: the job waits for others, and MaxCPU is named."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        job["statusReason"] = None
        environment["computeResources"]["desiredvCpus"] = 256
        found = run(job, queue, environment, sizes=sizes)
        assert found.causes == [
            (
                "the compute environment ComputeEnvironment-Xq2Pe9LwzVn3 is at its maxvCpus (256 of 256 "
                "vCPUs in use): the job waits for running jobs to end; raise MaxCPU to run more at once"
            )
        ]

    def test_more_vcpus_than_max_vcpus(self):
        """A job asking more vCPUs than maxvCpus can never run, whatever else holds."""
        job, queue, environment, _, sizes = answers()
        environment["computeResources"]["maxvCpus"] = 64
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary == (
            "the job needs 128 vCPUs, more than the compute environment ComputeEnvironment-Xq2Pe9LwzVn3's "
            "maxvCpus 64 (MaxCPU): it can never run there"
        )

    def test_disabled(self):
        """A DISABLED compute environment is named first."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        environment["state"] = "DISABLED"
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary == (
            "the compute environment ComputeEnvironment-Xq2Pe9LwzVn3 is DISABLED: it places no jobs; "
            "enable it to go on"
        )

    def test_invalid_with_its_reason(self):
        """An INVALID compute environment is named with Batch's reason for it."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        environment["status"] = "INVALID"
        environment["statusReason"] = "CLIENT_ERROR - The instance profile does not exist"
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary == (
            "the compute environment ComputeEnvironment-Xq2Pe9LwzVn3 is INVALID: "
            "CLIENT_ERROR - The instance profile does not exist"
        )
        assert found.details["compute_environments"][0]["status_reason"].startswith("CLIENT_ERROR")

    def test_spot_capacity_unavailable(self):
        """Batch's insufficient-capacity reason on a Spot compute environment is said as Spot capacity."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        job["statusReason"] = (
            "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for "
            "instance type m5.large"
        )
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary.startswith("Spot capacity is unavailable for the compute environment")
        assert "ComputeEnvironmentType Ec2" in found.summary
        assert len(found.causes) == 1

    def test_on_demand_capacity_is_worded_from_batch_s_code(self):
        """The same reason on an on-demand compute environment is Batch's code in plain words."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        environment["computeResources"]["type"] = "EC2"
        job["statusReason"] = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity"
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary.startswith(
            "AWS Batch says EC2 cannot supply the compute environment's instance types"
        )


class TestJobQueue:
    @pytest.mark.parametrize(
        ("change", "said"),
        [
            ({"state": "DISABLED"}, "the job queue flock-job-queue is DISABLED: it takes no new jobs"),
            (
                {"status": "INVALID", "statusReason": "CLIENT_ERROR - compute environment is INVALID"},
                "the job queue flock-job-queue is INVALID: CLIENT_ERROR - compute environment is INVALID",
            ),
            (
                {"computeEnvironmentOrder": []},
                "the job queue flock-job-queue has no compute environment: nothing can run its jobs",
            ),
        ],
    )
    def test_a_queue_that_starts_nothing_is_named(self, change, said):
        """A DISABLED or INVALID queue, or one without compute environment, comes first."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        queue.update(change)
        found = run(job, queue, environment, sizes=sizes)
        assert found.summary.startswith(said)
        assert found.details["job_queue"]["jobQueueName"] == "flock-job-queue"

    def test_an_unknown_queue(self):
        """A queue Batch does not know is said to be unknown."""
        job, _, _, _, sizes = answers()
        found = diagnose(job, queue=None, environments={}, sizes=sizes)
        assert found.summary == "AWS Batch does not know the job queue flock-job-queue: was it deleted?"


class TestStates:
    def test_a_running_job_is_not_waiting(self):
        """A job that started is said not to wait."""
        job, queue, environment, _, sizes = answers()
        job["status"] = "RUNNING"
        assert run(job, queue, environment, sizes=sizes).summary.startswith("the job is RUNNING, not waiting")

    def test_an_unknown_reason_is_quoted(self):
        """A reason Batch gives that no rule knows is quoted as Batch's."""
        job, queue, environment, _, sizes = answers()
        needs(job, 2, 2048)
        job["statusReason"] = "Something new"
        assert run(job, queue, environment, sizes=sizes).summary == "AWS Batch says: Something new"

    def test_json_has_summary_causes_and_details(self):
        """The diagnosis is JSON-ready, with the queue's and compute environment's state."""
        job, queue, environment, _, sizes = answers()
        document = json.loads(json.dumps(run(job, queue, environment, sizes=sizes).to_json()))
        assert set(document) == {"batch_job_id", "status", "summary", "causes", "details"}
        assert document["details"]["compute_environments"][0] | {} == {
            "name": "ComputeEnvironment-Xq2Pe9LwzVn3",
            "type": "SPOT",
            "state": "ENABLED",
            "status": "VALID",
            "status_reason": "ComputeEnvironment Healthy",
            "desired_vcpus": 0,
            "max_vcpus": 256,
            "instance_types": ["m5"],
            "instance_sizes_known": 8,
        }


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("1.5h", 5400), ("2d", 172800)]
)
def test_durations(text, seconds):
    """--wait-threshold takes a number of seconds, minutes, hours, days, or 0."""
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "five minutes", "5m-", "-5m"])
def test_bad_durations_say_what_is_accepted(text):
    """Anything else is refused with an example of what is accepted."""
    with pytest.raises(ValueError, match="give one such as 90s, 5m"):
        parse_duration(text)
