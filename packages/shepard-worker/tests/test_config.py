"""WorkerConfig.from_env: the job definition's and overrides' variables become a typed configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from shepard_core import JOB_DEFINITION_VARIABLES, JOB_OVERRIDE_VARIABLES
from shepard_testing import RecordingEnviron
from shepard_worker import WorkerConfig, WorkerConfigError
from shepard_worker._config import PASSTHROUGH_VARIABLES

BASE = {
    "SHEPARD_TABLE_NAME": "t",
    "SHEPARD_INPUTS_BUCKET": "in",
    "SHEPARD_OUTPUTS_BUCKET": "out",
    "SHEPARD_ERRORS_BUCKET": "err",
    "UUID": "6f1d2a52-4c3e-5b8e-9a57-536865706172",
}


class TestVariableNames:
    def test_reads_exactly_the_names_it_declares(self) -> None:
        """from_env looks up exactly what variable_names() lists, so the list can be checked elsewhere."""
        environ = RecordingEnviron(BASE)
        WorkerConfig.from_env(environ)
        assert environ.looked_up == WorkerConfig.variable_names()

    def test_the_flock_and_the_scheduler_set_what_it_needs(self) -> None:
        """Every required variable comes from the job definition or the scheduler's per-job overrides."""
        assert set(BASE) <= JOB_DEFINITION_VARIABLES | JOB_OVERRIDE_VARIABLES

    def test_declares_the_contract_from_core(self) -> None:
        """Its job-definition and per-job names are core's, and it reads them all, and what Batch sets."""
        assert WorkerConfig.FLOCK_VARIABLES == JOB_DEFINITION_VARIABLES
        assert WorkerConfig.JOB_VARIABLES == JOB_OVERRIDE_VARIABLES
        names = WorkerConfig.variable_names()
        assert JOB_DEFINITION_VARIABLES | JOB_OVERRIDE_VARIABLES | set(PASSTHROUGH_VARIABLES) <= names


class TestWorkerConfig:
    def test_defaults_follow_the_original_shepard(self) -> None:
        """Without optional variables the mounts are /mnt/root, /mnt/efs, /mnt/fsx and Docker runs the tar."""
        config = WorkerConfig.from_env({**BASE, "HOSTNAME": "h"})
        assert config.root_mount == Path("/mnt/root")
        assert config.efs_mount == Path("/mnt/efs")
        assert config.lustre_mount == Path("/mnt/fsx")
        assert config.runtime == "docker"
        assert config.payload_tar == Path("/opt/shepard/payload.tar")
        assert config.payload_image is None
        assert config.attempt == 1
        assert (config.uses_efs, config.uses_lustre, config.allow_docker_access) == (False, False, False)
        assert config.ulimit_fileno is None
        assert config.array_claim is None
        assert config.hostname == "h"
        assert config.engine_socket is None  # found at start (see the Docker runtime)
        assert config.payload_network == "bridge"  # never the host's network unless asked for
        assert config.pids_limit is None

    def test_every_variable_is_read(self, tmp_path: Path) -> None:
        """Each documented variable lands in its field."""
        env = {
            **BASE,
            "SHEPARD_QUICK_DEPLOY_BUCKET": "qd",
            "SHEPARD_SECRET_STORE": "store",
            "USES_EFS": "True",
            "USES_LUSTRE": "true",
            "ULIMIT_FILENO": "20000",
            "ALLOW_DOCKER_ACCESS": "True",
            "SHEPARD_ARRAY_CLAIM": "0123abcd",
            "AWS_BATCH_JOB_ATTEMPT": "3",
            "AWS_BATCH_JOB_ID": "batch-id",
            "HOSTNAME": "container",
            "SHEPARD_WORKER_HOSTNAME": "sheep",
            "SHEPARD_ROOT_MOUNT": str(tmp_path / "r"),
            "SHEPARD_RUNTIME": "process",
            "SHEPARD_PAYLOAD_IMAGE": "payload:1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_REGION": "eu-west-1",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
            "AWS_SECRET_ACCESS_KEY": "never-passed-on",
            "DOCKER_HOST": "unix:///tmp/engine.sock",
            "SHEPARD_PAYLOAD_NETWORK": "host",
            "SHEPARD_PIDS_LIMIT": "2048",
        }
        config = WorkerConfig.from_env(env)
        assert config.quick_deploy_bucket == "qd"
        assert config.secret_store == "store"  # noqa: S105 - a store name
        assert (config.uses_efs, config.uses_lustre, config.allow_docker_access) == (True, True, True)
        assert config.ulimit_fileno == 20000
        assert config.array_claim == "0123abcd"
        assert config.array_index is None
        assert config.attempt == 3
        assert config.batch_job_id == "batch-id"
        assert config.hostname == "sheep"
        assert config.root_mount == tmp_path / "r"
        assert config.runtime == "process"
        assert config.payload_image == "payload:1"
        assert config.aws_endpoint_url == "http://127.0.0.1:1"
        assert config.region == "eu-west-1"
        assert config.engine_socket is None
        assert config.docker_host == "unix:///tmp/engine.sock"
        assert config.payload_network == "host"
        assert config.pids_limit == 2048
        assert config.passthrough == {
            "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds",
            "AWS_BATCH_JOB_ID": "batch-id",
            "AWS_BATCH_JOB_ATTEMPT": "3",
        }

    @pytest.mark.parametrize("raw", ["0", "-5", "many", "4194305"])
    def test_a_bad_pids_limit_is_a_config_error(self, raw: str) -> None:
        """SHEPARD_PIDS_LIMIT must be a whole number from 1 to the kernel's largest pid_max."""
        with pytest.raises(WorkerConfigError, match="SHEPARD_PIDS_LIMIT"):
            WorkerConfig.from_env({**BASE, "SHEPARD_PIDS_LIMIT": raw})

    def test_an_array_child_needs_no_uuid(self) -> None:
        """A child with an array index and a claim token is configured without UUID; it reads the manifest."""
        env = {k: v for k, v in BASE.items() if k != "UUID"}
        config = WorkerConfig.from_env(
            {**env, "AWS_BATCH_JOB_ARRAY_INDEX": "17", "SHEPARD_ARRAY_CLAIM": "c1"}
        )
        assert (config.job_uuid, config.array_index, config.array_claim) == ("", 17, "c1")
        assert config.is_array_child

    @pytest.mark.parametrize("extra", [{}, {"AWS_BATCH_JOB_ARRAY_INDEX": "3"}, {"SHEPARD_ARRAY_CLAIM": "c1"}])
    def test_no_uuid_and_no_array_entry_is_refused(self, extra: dict[str, str]) -> None:
        """Without UUID, an array index and a claim token together are the only way to name the job."""
        env = {k: v for k, v in BASE.items() if k != "UUID"}
        with pytest.raises(WorkerConfigError, match="UUID is not set"):
            WorkerConfig.from_env({**env, **extra})

    @pytest.mark.parametrize("name", sorted(set(BASE) - {"UUID"}))
    def test_a_missing_required_variable_is_named(self, name: str) -> None:
        """A missing required variable raises WorkerConfigError naming it."""
        env = {k: v for k, v in BASE.items() if k != name}
        with pytest.raises(WorkerConfigError, match=f"{name} is not set"):
            WorkerConfig.from_env(env)

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("USES_EFS", "maybe", "USES_EFS must be True or False"),
            ("ULIMIT_FILENO", "lots", "ULIMIT_FILENO must be a whole number"),
            ("ULIMIT_FILENO", "2000000", "ULIMIT_FILENO must be between 1 and 1048576"),
            ("AWS_BATCH_JOB_ATTEMPT", "0", "AWS_BATCH_JOB_ATTEMPT must be between"),
            ("SHEPARD_RUNTIME", "podman", "SHEPARD_RUNTIME must be 'docker' or 'process'"),
            ("UUID", "../etc", "is not a job id"),
            ("AWS_BATCH_JOB_ARRAY_INDEX", "10000", "AWS_BATCH_JOB_ARRAY_INDEX must be between 0 and 9999"),
        ],
    )
    def test_a_malformed_value_is_explained(self, name: str, value: str, message: str) -> None:
        """A malformed value raises WorkerConfigError saying what is expected."""
        with pytest.raises(WorkerConfigError, match=message):
            WorkerConfig.from_env({**BASE, name: value})
