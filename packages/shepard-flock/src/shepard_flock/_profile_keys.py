"""Which template parameter names a resource, which stack output gives it, which profile key holds it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class FlockValue:
    """One value of a flock the CLI needs: the stack output giving it and the profile key holding it."""

    output: str
    """The stack output (cloudformation/src/shepard.template.yml, `Outputs`)."""
    profile_key: str
    """The CLI profile attribute it fills (shepard_cli.profiles.PROFILE_ATTRIBUTES)."""
    parameter: str | None = None
    """The template parameter naming the resource, when one does (then the output equals it)."""


FLOCK_VALUES: Final = (
    FlockValue("InputsBucket", "shepard_cli_s3_bucket_to_upload_to", "InputsBucket"),
    FlockValue("OutputsBucket", "shepard_cli_s3_bucket_for_results", "OutputsBucket"),
    FlockValue("ErrorsBucket", "shepard_cli_errors_bucket", "ErrorsBucket"),
    FlockValue("TableName", "shepard_cli_dynamo_db_to_query", "TableName"),
    FlockValue("SecretStore", "shepard_cli_secret_store", "SecretsManagerName"),
    FlockValue("ECRRepoName", "shepard_cli_ecr_repo_to_push_to", "ECRRepoName"),
    FlockValue("BatchingEndpointFunction", "shepard_cli_lambda_to_invoke"),
    FlockValue("SchedulerQueueUrl", "shepard_cli_scheduler_queue_url"),
)
"""Every stack output a CLI profile is filled from."""

STACK_PROFILE_KEY: Final = "shepard_cli_cloudformation_to_describe"
"""The profile key holding the flock's stack name."""


def profile_from_stack(
    stack: str, outputs: Mapping[str, str], parameters: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the profile attributes of the flock `stack`: each from its output, else its parameter.

    Values that neither gives (or gives empty) are left out.
    """
    profile = {STACK_PROFILE_KEY: stack}
    for value in FLOCK_VALUES:
        found = outputs.get(value.output) or (parameters or {}).get(value.parameter or "")
        if found:
            profile[value.profile_key] = found
    return profile
