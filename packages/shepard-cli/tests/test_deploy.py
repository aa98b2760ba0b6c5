import json
import os
import re
import urllib.request
import uuid

import pytest
from shepard_cli import _deploy
from shepard_cli._errors import CliError

BUSYBOX = os.environ.get("SHEPARD_BUSYBOX_IMAGE", "local/busybox:1")
REGISTRY = os.environ.get("SHEPARD_TEST_REGISTRY", "127.0.0.1:5000")


def _payload(folder, dockerfile="Dockerfile"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text("hello from the payload\n")
    (folder / dockerfile).write_text(
        f'FROM {BUSYBOX}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n'
    )
    return folder


def _deploy_args(endpoint, folder, repository, worker_image):
    return [
        "deploy",
        "--endpoint-url",
        endpoint,
        "--path-to-docker-folder",
        str(folder),
        "--ecr-repo-to-push-to",
        repository,
        "--worker-image",
        worker_image,
        "--registry",
        REGISTRY,
    ]


def _assert_progress_shown(output, repository):
    assert f"Building the payload image shepard-payload/{repository}:latest" in output
    assert f"Pushing {REGISTRY}/{repository}:latest" in output
    assert re.search(r"^[0-9a-f]{12}: (Pushed|Layer already exists)$", output, re.MULTILINE)


class TestFindDockerfile:
    def test_dockerfile(self, tmp_path):
        """A folder with a Dockerfile builds from it."""
        assert _deploy.find_dockerfile(_payload(tmp_path)) == "Dockerfile"

    def test_dockerfile_txt(self, tmp_path):
        """A folder with only a Dockerfile.txt builds from that."""
        assert _deploy.find_dockerfile(_payload(tmp_path, "Dockerfile.txt")) == "Dockerfile.txt"

    def test_both_are_refused(self, tmp_path):
        """A folder with both a Dockerfile and a Dockerfile.txt is refused."""
        _payload(tmp_path)
        _payload(tmp_path, "Dockerfile.txt")
        with pytest.raises(CliError, match=r"both a Dockerfile and a Dockerfile\.txt"):
            _deploy.find_dockerfile(tmp_path)

    def test_neither_is_refused(self, run, tmp_path):
        """A folder without a Dockerfile is refused before anything is built."""
        result = run("deploy", "--path_to_docker_folder", str(tmp_path), "--ecr_repo_to_push_to", "r")
        assert result.exit_code == 1
        assert "has no Dockerfile or Dockerfile.txt" in result.output

    def test_nested_dockerfile(self):
        """The nested image copies the payload tar into the worker image."""
        text = _deploy.nested_dockerfile("worker:1", "payload:1")
        assert text.startswith("FROM worker:1\nCOPY payload.tar /opt/shepard/payload.tar\n")


@pytest.mark.requires_docker
class TestDeploy:
    @pytest.fixture
    def docker_client(self):
        import docker

        client = docker.from_env()
        yield client
        client.close()

    @pytest.fixture
    def worker_image(self, docker_client, tmp_path):
        """Build a stand-in worker image FROM busybox."""
        tag = f"shepard-test-worker:{uuid.uuid4().hex[:8]}"
        context = tmp_path / "worker"
        context.mkdir()
        (context / "Dockerfile").write_text(f'FROM {BUSYBOX}\nLABEL role="worker"\n')
        docker_client.images.build(path=str(context), tag=tag, rm=True, pull=False)
        yield tag
        docker_client.images.remove(tag, force=True)

    @pytest.fixture
    def repository(self, docker_client):
        name = f"shepard-cli-test-{uuid.uuid4().hex[:8]}"
        yield name
        for image in docker_client.images.list():
            for tag in image.tags:
                if name in tag:
                    docker_client.images.remove(tag, force=True)

    def test_deploy_pushes_the_nested_image(  # noqa: PLR0913, PLR0917 - fixtures
        self, run, aws_endpoint, tmp_path, worker_image, repository, docker_client
    ):
        """Deploy builds the payload, nests its tar in the worker image and pushes it to the registry."""
        folder = _payload(tmp_path / "code", "Dockerfile.txt")
        result = run(*_deploy_args(aws_endpoint, folder, repository, worker_image))
        assert result.exit_code == 0, result.output
        assert f"Deployed {REGISTRY}/{repository}:latest" in result.output
        # AND the build and the push were shown as they happened
        _assert_progress_shown(result.output, repository)
        # THEN the registry has the tag
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{repository}/tags/list") as response:
            assert json.load(response)["tags"] == ["latest"]
        # AND the image is the worker image holding the payload image's tar
        image = docker_client.images.get(f"{REGISTRY}/{repository}:latest")
        assert image.labels["role"] == "worker"
        assert image.labels[_deploy.PAYLOAD_LABEL] == f"shepard-payload/{repository}:latest"
        listing = docker_client.containers.run(
            image.id, ["tar", "-tf", _deploy.PAYLOAD_TAR_PATH], remove=True, network_mode="none"
        )
        assert b"manifest.json" in listing

    def test_deploy_finds_the_script_engine_without_docker_host(  # noqa: PLR0913, PLR0917 - fixtures
        self, run, aws_endpoint, tmp_path, worker_image, repository, monkeypatch
    ):
        """With DOCKER_HOST unset and no default socket, deploy uses scripts/docker-engine.sh's engine."""
        from pathlib import Path

        from shepard_cli import engine as engine_module

        # GIVEN the engine only at the socket scripts/docker-engine.sh makes, and DOCKER_HOST unset
        engine = Path(os.environ["DOCKER_HOST"].removeprefix("unix://"))
        monkeypatch.setattr(engine_module, "LOCAL_ENGINE_SOCKET", engine)
        monkeypatch.setattr(engine_module, "DEFAULT_SOCKET", tmp_path / "no-docker.sock")
        monkeypatch.delenv("DOCKER_HOST")
        # WHEN the payload is deployed
        result = run(*_deploy_args(aws_endpoint, _payload(tmp_path / "code"), repository, worker_image))
        # THEN it is built and pushed with that engine
        assert result.exit_code == 0, result.output
        assert f"Deployed {REGISTRY}/{repository}:latest" in result.output
        # AND the build and the push were shown as they happened
        _assert_progress_shown(result.output, repository)

    def test_missing_worker_image_is_refused(self, run, aws_endpoint, tmp_path, repository):
        """Deploy refuses to start when the worker image is not in the engine."""
        result = run(
            *_deploy_args(aws_endpoint, _payload(tmp_path / "code"), repository, "shepard-no-such-worker:0"),
        )
        assert result.exit_code == 1
        assert "the worker image shepard-no-such-worker:0 is not in your Docker engine" in result.output

    def test_build_failure_is_one_line(self, run, aws_endpoint, tmp_path, worker_image, repository):
        """A Dockerfile that fails to build ends in one line with Docker's message."""
        folder = tmp_path / "code"
        folder.mkdir()
        (folder / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY missing.txt /\n")
        result = run(*_deploy_args(aws_endpoint, folder, repository, worker_image))
        assert result.exit_code == 1
        assert "Docker failed" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize("step", ["RUN exit 3", "RUN touch /made && false", "RUN cat /no/such/file"])
    def test_a_failed_build_leaves_no_container_behind(  # noqa: PLR0913, PLR0917 - fixtures
        self, run, aws_endpoint, tmp_path, worker_image, repository, docker_client, step
    ):
        """A build whose RUN step fails leaves no intermediate container in the engine."""
        marker = uuid.uuid4().hex
        folder = tmp_path / "code"
        folder.mkdir()
        (folder / "Dockerfile").write_text(f"FROM {BUSYBOX}\nENV MARKER={marker}\n{step}\n")
        result = run(*_deploy_args(aws_endpoint, folder, repository, worker_image))
        assert result.exit_code == 1
        assert "Docker failed" in result.output
        left = [
            container
            for container in docker_client.containers.list(all=True)
            if f"MARKER={marker}" in (container.attrs["Config"].get("Env") or [])
        ]
        assert left == []


class TestEcr:
    def test_registry_comes_from_the_authorization_token(self, aws_endpoint):
        """ECR's authorization token gives the registry host and the login."""
        import boto3

        ecr = boto3.client("ecr", endpoint_url=aws_endpoint, region_name="us-east-1")
        registry = _deploy.ecr_registry(ecr)
        assert registry.host == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        assert registry.username == "AWS"
        assert registry.password

    def test_missing_repository_is_one_line(self, run, aws_endpoint, tmp_path):
        """Without a registry override, a missing ECR repository is reported before building."""
        result = run(
            "deploy",
            "--endpoint-url",
            aws_endpoint,
            "--path-to-docker-folder",
            str(_payload(tmp_path / "code")),
            "--ecr-repo-to-push-to",
            "missing",
        )
        assert result.exit_code == 1
        assert "RepositoryNotFoundException" in result.output
