"""The payload's environment: the user's inputs plus every reserved variable with its documented value."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from shepard_core import JobRow, JobStatus, PayloadVariable

from shepard_worker._errors import StagingError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from shepard_worker._config import WorkerConfig
    from shepard_worker._workspace import Workspace

READ_ONLY_DIR_NAME: Final = "read_only"
"""The read-only views of the original Shepard (ginkgobioworks/shepard): `/mnt/efs/read_only`,
`/mnt/fsx/read_only` (under the mounts)."""

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SECRET_NAME: Final = re.compile(r"SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE|KEY|AUTH", re.IGNORECASE)
REDACTED: Final = "<redacted>"


def payload_environment(
    config: WorkerConfig,
    row: JobRow,
    workspace: Workspace,
    input_zip_name: str,
    read_only_path: Callable[[Path], Path],
) -> dict[str, str]:
    """Return the payload's variables: the inputs and core's PayloadVariable names (PATH: the runtime's).

    `read_only_path` maps an EFS or Lustre mount to where the runtime shows it read-only. An input
    that no environment can hold (a name with `=`, a value with a NUL) raises StagingError.
    """
    _check_inputs(row.inputs)
    env: dict[str, str] = dict(config.passthrough)
    env.update(row.inputs)  # an input may set a passed-on name (AWS_DEFAULT_REGION), never a reserved one
    variables: dict[PayloadVariable, str] = {
        PayloadVariable.UUID: config.job_uuid,
        PayloadVariable.START_TIME: row.start_time or "",
        PayloadVariable.END_TIME: str(row.end_time),
        PayloadVariable.JOB_STATUS: JobStatus.CALLING_PAYLOAD_CODE.value,
        PayloadVariable.ROOT_INPUT_NAME: str(workspace.root.input_dir),
        PayloadVariable.ROOT_OUTPUT_NAME: str(workspace.root.output_dir),
        PayloadVariable.INPUTS_BUCKET: config.inputs_bucket,
        PayloadVariable.OUTPUTS_BUCKET: config.outputs_bucket,
        PayloadVariable.ERROR_BUCKET: config.errors_bucket,
        PayloadVariable.INPUT_ZIP_NAME: input_zip_name,
        PayloadVariable.HOSTNAME: config.hostname,
        PayloadVariable.USES_EFS: _flag(config.uses_efs),
        PayloadVariable.USES_LUSTRE: _flag(config.uses_lustre),
        PayloadVariable.IS_INVOKED: _flag(row.is_invoked),
    }
    if config.ulimit_fileno is not None:
        variables[PayloadVariable.ULIMIT_FILENO] = str(config.ulimit_fileno)
    if workspace.efs is not None:
        variables[PayloadVariable.EFS_INPUT_NAME] = str(workspace.efs.input_dir)
        variables[PayloadVariable.EFS_OUTPUT_NAME] = str(workspace.efs.output_dir)
        variables[PayloadVariable.EFS_READ_ONLY_PATH] = str(read_only_path(workspace.efs.mount))
    if workspace.lustre is not None:
        variables[PayloadVariable.LUSTRE_INPUT_NAME] = str(workspace.lustre.input_dir)
        variables[PayloadVariable.LUSTRE_OUTPUT_NAME] = str(workspace.lustre.output_dir)
        variables[PayloadVariable.LUSTRE_READ_ONLY_PATH] = str(read_only_path(workspace.lustre.mount))
    env.update({variable.value: value for variable, value in variables.items()})
    return env


def _flag(value: bool) -> str:  # noqa: FBT001 - the flag is the value
    return "True" if value else "False"


def _check_inputs(inputs: Mapping[str, str]) -> None:
    for name, value in sorted(inputs.items()):
        if not _ENV_NAME.match(name):
            raise StagingError(
                f"the job's input {name!r} cannot be an environment variable name "
                "(letters, digits and underscores, not starting with a digit)"
            )
        if "\0" in value:
            raise StagingError(f"the job's input {name!r} holds a NUL character: no environment can hold it")


def redact(env: Mapping[str, str]) -> dict[str, str]:
    """Return `env` with the values of names that look like credentials replaced, for logs and error zips."""
    return {name: REDACTED if _SECRET_NAME.search(name) else value for name, value in sorted(env.items())}
