"""The worker's typed configuration, read once from the environment at the edge."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final, Literal

from shepard_core import (
    ARRAY_INDEX_VARIABLE,
    AWS_DEFAULT_REGION,
    JOB_DEFINITION_VARIABLES,
    JOB_OVERRIDE_VARIABLES,
    MAX_ARRAY_SIZE,
    PayloadVariable,
    Setting,
    is_valid_batch_job_name,
)

from shepard_worker._errors import WorkerConfigError
from shepard_worker._gpus import NVIDIA_VISIBLE_DEVICES

if TYPE_CHECKING:
    from collections.abc import Mapping

RuntimeName = Literal["docker", "process"]

DEFAULT_ROOT_MOUNT: Final = "/mnt/root"
DEFAULT_EFS_MOUNT: Final = "/mnt/efs"
DEFAULT_LUSTRE_MOUNT: Final = "/mnt/fsx"
DEFAULT_PAYLOAD_TAR: Final = "/opt/shepard/payload.tar"
DEFAULT_PART_SIZE: Final = 8 * 1024 * 1024
MIN_PART_SIZE: Final = 5 * 1024 * 1024
MAX_ULIMIT_FILENO: Final = 1048576
MAX_PIDS_LIMIT: Final = 4194304
"""The kernel's largest pid_max."""
DEFAULT_PROJECT_NAME: Final = "shepard"

AWS_REGION: Final = "AWS_REGION"
AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
AWS_BATCH_JOB_ID: Final = "AWS_BATCH_JOB_ID"
AWS_BATCH_JOB_ATTEMPT: Final = "AWS_BATCH_JOB_ATTEMPT"
DOCKER_HOST: Final = "DOCKER_HOST"
METADATA_ENDPOINT: Final = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
"""Where the EC2 instance metadata service is (botocore's variable); set, it is asked even off Batch."""

PASSTHROUGH_VARIABLES: Final = (
    AWS_REGION,
    AWS_DEFAULT_REGION,
    AWS_ENDPOINT_URL,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    AWS_BATCH_JOB_ID,
    AWS_BATCH_JOB_ATTEMPT,
    ARRAY_INDEX_VARIABLE,
    "AWS_BATCH_JQ_NAME",
    "AWS_BATCH_CE_NAME",
)
"""Variables of the worker's own environment handed on to the payload, so it can use the job's role."""

MACHINE_SETTINGS: Final[frozenset[str]] = frozenset(
    {
        Setting.RUNTIME.value,
        Setting.PAYLOAD_IMAGE.value,
        Setting.PAYLOAD_TAR.value,
        Setting.DOCKER_SOCKET.value,
        Setting.WORKER_HOSTNAME.value,
        Setting.ROOT_MOUNT.value,
        Setting.EFS_MOUNT.value,
        Setting.LUSTRE_MOUNT.value,
        Setting.PART_SIZE.value,
        Setting.ZIP_COMPRESS_LEVEL.value,
        Setting.STOP_GRACE_SECONDS.value,
        PayloadVariable.HOSTNAME.value,
        Setting.INSTANCE_TYPE.value,
        Setting.CAPACITY_TYPE.value,
        DOCKER_HOST,
        NVIDIA_VISIBLE_DEVICES,
        METADATA_ENDPOINT,
    }
)
"""Optional variables of the machine the worker runs on (the worker image, a local flock), with defaults.

NVIDIA_VISIBLE_DEVICES is set by AWS Batch's ECS agent on a job that requests GPUs: the GPUs it assigned.
"""

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no", ""})


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise WorkerConfigError(f"{name} must be True or False, not {env[name]!r}")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise WorkerConfigError(f"{name} is not set; the job definition (or the job's overrides) must set it")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WorkerConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not minimum <= value <= maximum:
        raise WorkerConfigError(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def _size(env: Mapping[str, str], name: str) -> float | None:
    """Return a job size the job definition gives (vCPUs, MiB); None when unset or unusable.

    The size only prices the job: a value that is not a positive number is logged and left out,
    never a reason to refuse the job.
    """
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        logging.getLogger(__name__).warning("%s=%r is not a positive number; not recorded", name, raw)
        return None
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """Everything the worker needs to run one job: the flock's resources, the job and the machine."""

    table_name: str
    inputs_bucket: str
    outputs_bucket: str
    errors_bucket: str
    job_uuid: str = ""
    """The job's UUID; empty for an array child until it is read from the array's manifest."""
    array_claim: str | None = None
    """The claim token of the array (or plain job) this worker runs for; None for a job without one."""
    array_index: int | None = None
    """This array child's index (AWS_BATCH_JOB_ARRAY_INDEX); None for a plain job."""
    quick_deploy_bucket: str | None = None
    secret_store: str | None = None
    project_name: str = DEFAULT_PROJECT_NAME
    """The flock's name: the namespace and Project dimension of the job's metrics."""
    uses_efs: bool = False
    uses_lustre: bool = False
    ulimit_fileno: int | None = None
    allow_docker_access: bool = False
    attempt: int = 1
    batch_job_id: str | None = None
    hostname: str = dataclasses.field(default_factory=socket.gethostname)
    root_mount: Path = Path(DEFAULT_ROOT_MOUNT)
    efs_mount: Path = Path(DEFAULT_EFS_MOUNT)
    lustre_mount: Path = Path(DEFAULT_LUSTRE_MOUNT)
    runtime: RuntimeName = "docker"
    payload_tar: Path = Path(DEFAULT_PAYLOAD_TAR)
    payload_image: str | None = None
    payload_network: str = "bridge"
    """The payload container's Docker network: the engine's bridge unless `host` is asked for."""
    pids_limit: int | None = None
    """The most processes and threads the payload may have at once (within the job's own pids budget)."""
    engine_socket: str | None = None
    """SHEPARD_DOCKER_SOCKET: the engine's socket as a path on the engine's machine; None: found at start."""
    docker_host: str | None = None
    """DOCKER_HOST as the worker sees it (where its client reaches the engine)."""
    visible_gpus: str | None = None
    """NVIDIA_VISIBLE_DEVICES as set on the worker: its assigned GPUs, checked when the payload starts."""
    aws_endpoint_url: str | None = None
    region: str | None = None
    part_size: int = DEFAULT_PART_SIZE
    compress_level: int = 6
    stop_grace_seconds: int = 10
    passthrough: dict[str, str] = dataclasses.field(default_factory=dict)
    job_vcpus: float | None = None
    """The job's vCPUs (SHEPARD_JOB_VCPUS, from the job definition), recorded for pricing."""
    job_memory_mib: int | None = None
    """The job's memory in MiB (SHEPARD_JOB_MEMORY_MIB, from the job definition), recorded for pricing."""
    instance_type: str | None = None
    """SHEPARD_INSTANCE_TYPE: the instance type to record instead of asking instance metadata."""
    capacity_type: str | None = None
    """SHEPARD_CAPACITY_TYPE: `spot` or `on-demand`, recorded with SHEPARD_INSTANCE_TYPE."""
    metadata_endpoint: str | None = None
    """AWS_EC2_METADATA_SERVICE_ENDPOINT: the instance metadata service to ask (default: when on Batch)."""

    FLOCK_VARIABLES: ClassVar[frozenset[str]] = JOB_DEFINITION_VARIABLES
    """What the job definition sets for every job (core's JOB_DEFINITION_VARIABLES)."""
    JOB_VARIABLES: ClassVar[frozenset[str]] = JOB_OVERRIDE_VARIABLES
    """What the scheduler sets for each job (core's JOB_OVERRIDE_VARIABLES)."""

    @classmethod
    def variable_names(cls) -> frozenset[str]:
        """Return the name of every environment variable from_env reads.

        That is the job definition's and the job's variables, the machine's settings, and what AWS
        Batch sets (passed on to the payload too).
        """
        return cls.FLOCK_VARIABLES | cls.JOB_VARIABLES | MACHINE_SETTINGS | frozenset(PASSTHROUGH_VARIABLES)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        """Read the configuration from `env` (default: os.environ), or raise WorkerConfigError."""
        env = os.environ if env is None else env
        runtime = env.get(Setting.RUNTIME, "docker").strip().lower() or "docker"
        if runtime not in {"docker", "process"}:
            raise WorkerConfigError(f"{Setting.RUNTIME} must be 'docker' or 'process', not {runtime!r}")
        raw_index = env.get(ARRAY_INDEX_VARIABLE, "").strip()
        ulimit = env.get(PayloadVariable.ULIMIT_FILENO, "").strip()
        return cls(
            table_name=_required(env, Setting.TABLE_NAME),
            inputs_bucket=_required(env, Setting.INPUTS_BUCKET),
            outputs_bucket=_required(env, Setting.OUTPUTS_BUCKET),
            errors_bucket=_required(env, Setting.ERRORS_BUCKET),
            job_uuid=_optional(env, PayloadVariable.UUID) or "",
            array_claim=_optional(env, Setting.ARRAY_CLAIM),
            array_index=_integer(env, ARRAY_INDEX_VARIABLE, 0, 0, MAX_ARRAY_SIZE - 1) if raw_index else None,
            quick_deploy_bucket=_optional(env, Setting.QUICK_DEPLOY_BUCKET),
            secret_store=_optional(env, Setting.SECRET_STORE),
            project_name=_optional(env, Setting.PROJECT_NAME) or DEFAULT_PROJECT_NAME,
            uses_efs=_flag(env, PayloadVariable.USES_EFS),
            uses_lustre=_flag(env, PayloadVariable.USES_LUSTRE),
            ulimit_fileno=(
                _integer(env, PayloadVariable.ULIMIT_FILENO, 0, 1, MAX_ULIMIT_FILENO) if ulimit else None
            ),
            allow_docker_access=_flag(env, Setting.ALLOW_DOCKER_ACCESS),
            attempt=_integer(env, AWS_BATCH_JOB_ATTEMPT, 1, 1, 10_000),
            batch_job_id=_optional(env, AWS_BATCH_JOB_ID),
            hostname=(
                _optional(env, Setting.WORKER_HOSTNAME)
                or _optional(env, PayloadVariable.HOSTNAME)
                or socket.gethostname()
            ),
            root_mount=Path(env.get(Setting.ROOT_MOUNT, "").strip() or DEFAULT_ROOT_MOUNT),
            efs_mount=Path(env.get(Setting.EFS_MOUNT, "").strip() or DEFAULT_EFS_MOUNT),
            lustre_mount=Path(env.get(Setting.LUSTRE_MOUNT, "").strip() or DEFAULT_LUSTRE_MOUNT),
            runtime="process" if runtime == "process" else "docker",
            payload_tar=Path(env.get(Setting.PAYLOAD_TAR, "").strip() or DEFAULT_PAYLOAD_TAR),
            payload_image=_optional(env, Setting.PAYLOAD_IMAGE),
            payload_network=_optional(env, Setting.PAYLOAD_NETWORK) or "bridge",
            pids_limit=_integer(env, Setting.PIDS_LIMIT, 0, 1, MAX_PIDS_LIMIT) or None,
            engine_socket=_optional(env, Setting.DOCKER_SOCKET),
            docker_host=_optional(env, DOCKER_HOST),
            visible_gpus=env.get(NVIDIA_VISIBLE_DEVICES),
            aws_endpoint_url=_optional(env, AWS_ENDPOINT_URL),
            region=_optional(env, AWS_REGION) or _optional(env, AWS_DEFAULT_REGION),
            part_size=_integer(env, Setting.PART_SIZE, DEFAULT_PART_SIZE, MIN_PART_SIZE, 5 * 1024**3),
            compress_level=_integer(env, Setting.ZIP_COMPRESS_LEVEL, 6, 0, 9),
            stop_grace_seconds=_integer(env, Setting.STOP_GRACE_SECONDS, 10, 0, 3600),
            passthrough={name: env[name] for name in PASSTHROUGH_VARIABLES if env.get(name)},
            job_vcpus=_size(env, Setting.JOB_VCPUS),
            job_memory_mib=int(memory) if (memory := _size(env, Setting.JOB_MEMORY_MIB)) else None,
            instance_type=_optional(env, Setting.INSTANCE_TYPE),
            capacity_type=_optional(env, Setting.CAPACITY_TYPE),
            metadata_endpoint=_optional(env, METADATA_ENDPOINT),
        )

    @property
    def is_array_child(self) -> bool:
        """Whether this worker is an array child that finds its job in the array's manifest."""
        return not self.job_uuid and self.array_index is not None and self.array_claim is not None

    def __post_init__(self) -> None:
        """Refuse a worker that names no job, and a UUID that could not be a directory name."""
        if not self.job_uuid:
            if self.array_index is None or self.array_claim is None:
                raise WorkerConfigError(
                    f"{PayloadVariable.UUID} is not set (nor {ARRAY_INDEX_VARIABLE} with "
                    f"{Setting.ARRAY_CLAIM.value}); the job's overrides must name its job"
                )
            return
        if not is_valid_batch_job_name(self.job_uuid):
            raise WorkerConfigError(
                f"UUID {self.job_uuid!r} is not a job id (1-128 letters, digits, '-' or '_')"
            )
