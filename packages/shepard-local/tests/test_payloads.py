"""Where the flock's registry holds a job definition's image."""

from __future__ import annotations

import logging
import os
import urllib.request
import uuid

import pytest
from shepard_core import Setting
from shepard_local._batch_jobs import BatchJob
from shepard_local._payloads import PayloadResolver, registry_reference
from shepard_local._state import FlockNames, FlockState


class TestRegistryReference:
    def test_an_ecr_image_is_looked_up_in_the_flock_registry(self):
        """The job definition's ECR image is found in the local registry under the same repository."""
        image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shepard-local:latest"
        assert registry_reference(image, "127.0.0.1:5000") == "127.0.0.1:5000/shepard-local:latest"

    def test_other_images_and_flocks_without_a_registry_are_left_alone(self):
        """An image that is not in ECR, or a flock with no registry, keeps the image as it is."""
        assert registry_reference("127.0.0.1:5000/x:1", "127.0.0.1:5000") == "127.0.0.1:5000/x:1"
        ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"
        assert registry_reference(ecr, "") == ecr


@pytest.mark.requires_docker
class TestNothingDeployed:
    def test_an_undeployed_image_is_logged_once_not_once_per_job(self, tmp_path, caplog):
        """Jobs of an image nobody deployed run as processes, and the registry's answer is logged once."""
        registry = os.environ.get("SHEPARD_TEST_REGISTRY", "127.0.0.1:5000")
        if not _answers(registry):
            pytest.skip(f"no registry at {registry}")
        state = FlockState(
            directory=tmp_path, names=FlockNames(), aws_endpoint="", runtime="docker", registry=registry
        )
        payloads = PayloadResolver(state)
        image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/never-deployed-{uuid.uuid4().hex}:latest"
        job = BatchJob(
            job_id="j", job_name="j", job_definition="d", environment={}, image=image, created_at=0.0
        )
        with caplog.at_level(logging.INFO, logger="shepard_local._payloads"):
            runtimes = [payloads.environment_for(job) for _ in range(5)]
        assert runtimes == [{Setting.RUNTIME: "process"}] * 5
        logged = [r for r in caplog.records if "no deployed payload" in r.getMessage()]
        assert len(logged) == 1


def _answers(registry: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{registry}/v2/", timeout=3):
            return True
    except OSError:
        return False
