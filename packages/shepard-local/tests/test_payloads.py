"""Where the flock's registry holds a job definition's image."""

from __future__ import annotations

from shepard_local._payloads import registry_reference


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
