"""Profiles: named JSON files of `shepard_cli_*` defaults in one directory, one of them current."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

HOME_VARIABLE: Final = "SHEPARD_CLI_HOME"
PROFILE_SUFFIX: Final = ".json"
CURRENT_FILE: Final = "current_profile"

PROFILE_ATTRIBUTES: Final[dict[str, str]] = {
    "shepard_cli_account_number": "AWS account number holding the flock",
    "shepard_cli_role_to_assume_to_target_account": "role to assume into that account",
    "shepard_cli_path_to_docker_folder": "local folder with a Dockerfile (or Dockerfile.txt) to deploy",
    "shepard_cli_ecr_repo_to_push_to": "name of the flock's ECR repository (not an ARN)",
    "shepard_cli_path_to_local_folder_to_batch": "local folder to zip and batch as a job",
    "shepard_cli_s3_bucket_to_upload_to": "the flock's inputs bucket (InputsBucket)",
    "shepard_cli_dynamo_db_to_query": "the flock's DynamoDB table (TableName)",
    "shepard_cli_cloudformation_to_describe": "the flock's CloudFormation stack name",
    "shepard_cli_path_to_local_secrets": "local folder of secret files for secretify",
    "shepard_cli_secret_store": "the flock's Secrets Manager secret (SecretsManagerName)",
    "shepard_cli_s3_bucket_for_results": "the flock's outputs bucket (OutputsBucket)",
    "shepard_cli_directory_to_sync_s3_bucket_to": "local folder retrieve syncs outputs into",
    "shepard_cli_lambda_to_invoke": "the flock's batching endpoint Lambda",
    "shepard_cli_endpoint_url": "AWS endpoint URL of a local flock (empty for AWS itself)",
    "shepard_cli_errors_bucket": "the flock's errors bucket (ErrorsBucket), to show rejection reports",
    "shepard_cli_region": "AWS region of the flock (default: your AWS configuration's)",
    "shepard_cli_scheduler_queue_url": "the flock's scheduler queue (SchedulerQueueUrl), for shepard retry",
    "shepard_cli_registry": "image registry to push to instead of ECR (a local flock's, e.g. 127.0.0.1:5000)",
}
"""Every attribute a profile may hold, with what it means."""

ATTRIBUTE_PREFIX: Final = "shepard_cli_"
ENDPOINT_ATTRIBUTE: Final = "shepard_cli_endpoint_url"
"""The endpoint URL; not an option default, since the global flag and $AWS_ENDPOINT_URL beat it."""
REGION_ATTRIBUTE: Final = "shepard_cli_region"
"""The region; no option gives it."""

OPTION_OF_ATTRIBUTE: Final[dict[str, str]] = {
    attribute: attribute.removeprefix(ATTRIBUTE_PREFIX)
    for attribute in PROFILE_ATTRIBUTES
    if attribute not in {ENDPOINT_ATTRIBUTE, REGION_ATTRIBUTE}
}
"""Which command option (by parameter name) each profile attribute gives the default of."""
ATTRIBUTE_OF_OPTION: Final[dict[str, str]] = {option: attr for attr, option in OPTION_OF_ATTRIBUTE.items()}

PATH_ATTRIBUTES: Final = frozenset(
    {
        "shepard_cli_path_to_docker_folder",
        "shepard_cli_path_to_local_folder_to_batch",
        "shepard_cli_path_to_local_secrets",
        "shepard_cli_directory_to_sync_s3_bucket_to",
    }
)
"""The attributes naming local folders: `configure` stores them as absolute paths, so a profile works
from any working directory."""


def option_defaults(profile: dict[str, str], option_names: Iterable[str]) -> dict[str, str]:
    """Return the profile's values keyed by the names of the given options they are defaults for."""
    wanted = set(option_names)
    return {
        OPTION_OF_ATTRIBUTE[attribute]: value
        for attribute, value in profile.items()
        if attribute in OPTION_OF_ATTRIBUTE and OPTION_OF_ATTRIBUTE[attribute] in wanted
    }


_PROFILE_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\Z")


def default_home() -> Path:
    """Return the profile directory: $SHEPARD_CLI_HOME, or ~/.shepard_cli."""
    from pathlib import Path  # not at the top: `shepard --help` never needs it

    override = os.environ.get(HOME_VARIABLE)
    return Path(override).expanduser() if override else Path.home() / ".shepard_cli"


def check_profile_name(name: str) -> str:
    """Return `name` when it can name a profile file, or raise CliError."""
    if not _PROFILE_NAME.match(name) or name.endswith(PROFILE_SUFFIX):
        raise CliError(
            f"{name!r} cannot name a profile",
            "Use letters, digits, '_', '-' or '.', starting with a letter, digit or '_'",
        )
    return name


class ProfileStore:
    """The profile directory: list, read, write and delete profiles; remember the current one."""

    def __init__(self, home: Path | None = None) -> None:
        """Use `home` as the profile directory (default: default_home())."""
        self.home = default_home() if home is None else home

    def _path(self, name: str) -> Path:
        return self.home / f"{check_profile_name(name)}{PROFILE_SUFFIX}"

    def names(self) -> list[str]:
        """Return every profile name in the directory, sorted (files dropped in are included)."""
        if not self.home.is_dir():
            return []
        return sorted(p.name.removesuffix(PROFILE_SUFFIX) for p in self.home.glob(f"*{PROFILE_SUFFIX}"))

    def exists(self, name: str) -> bool:
        """Return whether a profile called `name` exists."""
        return self._path(name).is_file()

    def load(self, name: str) -> dict[str, str]:
        """Return the attributes of profile `name`, or raise CliError when it is missing or malformed."""
        import json

        path = self._path(name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            known = ", ".join(self.names()) or "none yet"
            raise CliError(
                f"there is no profile {name!r} (profiles: {known})",
                "Create it with `shepard configure` or drop its file into `shepard where-am-i`",
            ) from None
        except (OSError, ValueError) as exc:
            raise CliError(
                f"profile file {path} cannot be read: {exc}",
                "Fix or delete the file (it must be a JSON object)",
            ) from None
        if not isinstance(document, dict):
            raise CliError(f"profile file {path} is not a JSON object", "Fix or delete the file")
        return {str(k): str(v) for k, v in document.items() if v is not None and str(v) != ""}

    def save(self, name: str, attributes: dict[str, str]) -> Path:
        """Write profile `name` with the given attributes (empty values are left out); return its path."""
        import json

        path = self._path(name)
        self.home.mkdir(parents=True, exist_ok=True)
        clean = {k: v for k, v in attributes.items() if v != ""}
        path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    def delete(self, name: str) -> None:
        """Delete profile `name` (and forget it as current), or raise CliError when it is missing."""
        path = self._path(name)
        if not path.is_file():
            raise CliError(f"there is no profile {name!r}", "See the profiles with `shepard check-profile`")
        path.unlink()
        if self.current() == name:
            self.clear_current()

    def current(self) -> str | None:
        """Return the name of the current profile, or None when none is set."""
        path = self.home / CURRENT_FILE
        try:
            name = path.read_bytes().decode("utf-8").strip()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise CliError(
                f"{path} is damaged", "Run `shepard clear-profile-config`, then `shepard set-profile NAME`"
            ) from None
        return name or None

    def set_current(self, name: str) -> None:
        """Make profile `name` the current one, or raise CliError when it does not exist."""
        if not self.exists(name):
            self.load(name)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / CURRENT_FILE).write_text(name + "\n", encoding="utf-8")

    def clear_current(self) -> bool:
        """Forget the current profile; return whether one was set."""
        try:
            (self.home / CURRENT_FILE).unlink()
        except FileNotFoundError:
            return False
        return True
