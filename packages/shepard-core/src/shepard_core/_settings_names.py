"""The environment variable names Shepard's scheduler and worker read their configuration from."""

from __future__ import annotations

import enum
from typing import Final

from shepard_core._keywords import PayloadVariable


class Setting(enum.StrEnum):
    """A configuration variable of the scheduler or the worker, set by the template or by the machine."""

    TABLE_NAME = "SHEPARD_TABLE_NAME"
    """The job table (scheduler and worker)."""
    INPUTS_BUCKET = "SHEPARD_INPUTS_BUCKET"
    """The bucket job zips are dropped into (scheduler and worker)."""
    OUTPUTS_BUCKET = "SHEPARD_OUTPUTS_BUCKET"
    """The bucket output zips go to (worker)."""
    ERRORS_BUCKET = "SHEPARD_ERRORS_BUCKET"
    """The bucket error zips and rejection reports go to (scheduler and worker)."""
    QUICK_DEPLOY_BUCKET = "SHEPARD_QUICK_DEPLOY_BUCKET"
    """The bucket holding quick-deploy directories (worker)."""
    SECRET_STORE = "SHEPARD_SECRET_STORE"  # noqa: S105 - a variable's name, not a secret
    """The Secrets Manager secret holding the flock's secrets (worker)."""
    JOB_QUEUE = "SHEPARD_JOB_QUEUE"
    """The Batch job queue jobs are submitted to (scheduler)."""
    JOB_DEFINITION = "SHEPARD_JOB_DEFINITION"
    """The Batch job definition jobs are submitted with (scheduler)."""
    DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES = "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES"
    """Days a row that never finished stays in the table (scheduler)."""
    PROJECT_NAME = "SHEPARD_PROJECT_NAME"
    """The flock's name, for logs and metrics (scheduler and worker)."""
    ALLOW_DOCKER_ACCESS = "ALLOW_DOCKER_ACCESS"
    """Whether the payload gets the host's Docker socket (worker; the original Shepard's spelling)."""
    RUNTIME = "SHEPARD_RUNTIME"
    """`docker` (default) or `process`: how the worker runs the payload."""
    PAYLOAD_IMAGE = "SHEPARD_PAYLOAD_IMAGE"
    """An image to run instead of loading the nested payload tar (worker)."""
    PAYLOAD_TAR = "SHEPARD_PAYLOAD_TAR"
    """Where the worker image holds the nested payload image tar."""
    PAYLOAD_NETWORK = "SHEPARD_PAYLOAD_NETWORK"
    """The Docker network of the payload container (worker; default `bridge`, `host` only when set)."""
    PIDS_LIMIT = "SHEPARD_PIDS_LIMIT"
    """The most processes and threads one job's payload may have at once (worker; template JobPidsLimit)."""
    DOCKER_SOCKET = "SHEPARD_DOCKER_SOCKET"
    """The engine's socket as a path on its machine, for ALLOW_DOCKER_ACCESS (worker; default: found)."""
    WORKER_HOSTNAME = "SHEPARD_WORKER_HOSTNAME"
    """The HOSTNAME the payload sees (worker; default the machine's)."""
    ROOT_MOUNT = "SHEPARD_ROOT_MOUNT"
    """Where the root scratch volume is mounted (worker)."""
    EFS_MOUNT = "SHEPARD_EFS_MOUNT"
    """Where EFS is mounted (worker)."""
    LUSTRE_MOUNT = "SHEPARD_LUSTRE_MOUNT"
    """Where Lustre is mounted (worker)."""
    PART_SIZE = "SHEPARD_PART_SIZE"
    """The multipart upload part size in bytes (worker)."""
    ZIP_COMPRESS_LEVEL = "SHEPARD_ZIP_COMPRESS_LEVEL"
    """The deflate level of output zips, 0-9 (worker)."""
    ARRAY_CLAIM = "SHEPARD_ARRAY_CLAIM"
    """The claim token of the array (or plain job) a worker runs for: the scheduler's one override."""
    STOP_GRACE_SECONDS = "SHEPARD_STOP_GRACE_SECONDS"
    """Seconds a stopped payload gets before it is killed (worker)."""
    JOB_VCPUS = "SHEPARD_JOB_VCPUS"
    """The vCPUs each job gets (worker; the job definition's VCPU requirement), recorded for pricing."""
    JOB_MEMORY_MIB = "SHEPARD_JOB_MEMORY_MIB"
    """The memory in MiB each job gets (worker; the job definition's MEMORY requirement), for pricing."""
    INSTANCE_TYPE = "SHEPARD_INSTANCE_TYPE"
    """The instance type the worker records instead of asking EC2 instance metadata (a local flock)."""
    CAPACITY_TYPE = "SHEPARD_CAPACITY_TYPE"
    """`spot` or `on-demand`, recorded instead of asking EC2 instance metadata (a local flock)."""
    TAG_PROJECT = "SHEPARD_TAG_PROJECT"
    """The Project tag every submitted Batch job carries (scheduler; template ProjectName)."""
    TAG_TEAM = "SHEPARD_TAG_TEAM"
    """The Team tag every submitted Batch job carries (scheduler; template TeamName; may be empty)."""
    TAG_CONTACT = "SHEPARD_TAG_CONTACT"
    """The Contact tag every submitted Batch job carries (scheduler; template ContactEmail; may be empty)."""
    TAG_WORKLOAD_TYPE = "SHEPARD_TAG_WORKLOAD_TYPE"
    """The WorkloadType tag every submitted Batch job carries (scheduler; template WorkloadValue)."""


SUBMIT_TAG_SETTINGS: Final[dict[str, str]] = {
    Setting.TAG_PROJECT.value: "Project",
    Setting.TAG_TEAM.value: "Team",
    Setting.TAG_CONTACT.value: "Contact",
    Setting.TAG_WORKLOAD_TYPE.value: "WorkloadType",
}
"""The flock's tags every SubmitJob carries: the scheduler's variable of each, and the tag's key (the same
keys the template puts on the flock's instances)."""

SCHEDULER_SETTINGS: Final[frozenset[str]] = frozenset(
    {
        Setting.TABLE_NAME.value,
        Setting.JOB_QUEUE.value,
        Setting.JOB_DEFINITION.value,
        Setting.INPUTS_BUCKET.value,
        Setting.ERRORS_BUCKET.value,
        Setting.DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES.value,
        Setting.PROJECT_NAME.value,
        *SUBMIT_TAG_SETTINGS,
    }
)
"""What each scheduler Lambda reads: the template gives both functions exactly these. All are required
but the submit tags' values, which may be empty (a tag without a value is left off)."""

RECONCILER_SETTINGS: Final[frozenset[str]] = frozenset(
    {Setting.TABLE_NAME.value, Setting.ERRORS_BUCKET.value, Setting.PROJECT_NAME.value}
)
"""What the reconciler Lambda reads, all required: the table, the errors bucket and the flock's name."""

AWS_DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"
"""The region the job definition names, so the worker's clients (and the payload's) find the flock."""

JOB_DEFINITION_VARIABLES: Final[frozenset[str]] = frozenset(
    {
        AWS_DEFAULT_REGION,
        Setting.TABLE_NAME.value,
        Setting.INPUTS_BUCKET.value,
        Setting.OUTPUTS_BUCKET.value,
        Setting.ERRORS_BUCKET.value,
        Setting.QUICK_DEPLOY_BUCKET.value,
        Setting.SECRET_STORE.value,
        Setting.ALLOW_DOCKER_ACCESS.value,
        Setting.PAYLOAD_NETWORK.value,
        Setting.PIDS_LIMIT.value,
        Setting.PROJECT_NAME.value,
        Setting.JOB_VCPUS.value,
        Setting.JOB_MEMORY_MIB.value,
        PayloadVariable.USES_EFS.value,
        PayloadVariable.USES_LUSTRE.value,
        PayloadVariable.ULIMIT_FILENO.value,
    }
)
"""What the job definition gives every worker: the flock's resources and name (its metrics' project), its
file-system options, the payload's network (the Docker bridge on AWS, never the host's), its pids bound
and the job's vCPUs and memory (recorded on the row for pricing)."""

JOB_OVERRIDE_VARIABLES: Final[frozenset[str]] = frozenset(
    {PayloadVariable.UUID.value, Setting.ARRAY_CLAIM.value}
)
"""What the scheduler sets on a submitted job (container overrides): an array job gets only the claim
token (each child finds its job in the manifest); a plain job also its job's UUID. The rest of a job
(INPUT_ZIP_NAME, IS_INVOKED, its inputs) is on its row."""
