"""The names, paths and recorded state of one local flock."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Final

LOCAL_DIR_VAR: Final = "SHEPARD_LOCAL_DIR"
DEFAULT_PREFIX: Final = "shepard-local"
FLOCK_NICENESS: Final = 10
"""How far below the user's CPU priority the flock runs: a busy flock then leaves commands their speed."""
REGION: Final = "us-east-1"
STATE_FILE: Final = "flock.json"


def default_local_dir() -> Path:
    """Return the flock directory: SHEPARD_LOCAL_DIR, else ~/.shepard/local."""
    configured = os.environ.get(LOCAL_DIR_VAR)
    return Path(configured).expanduser() if configured else Path.home() / ".shepard" / "local"


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlockNames:
    """The resource names of a local flock, all derived from one prefix and the flock's instance token."""

    prefix: str = DEFAULT_PREFIX
    instance: str = ""
    """A new token at each `shepard local up`, carried by names that outlive the flock (its repository)."""

    @property
    def inputs_bucket(self) -> str:
        """The bucket job zips are dropped into."""
        return f"{self.prefix}-inputs"

    @property
    def outputs_bucket(self) -> str:
        """The bucket output zips land in."""
        return f"{self.prefix}-outputs"

    @property
    def errors_bucket(self) -> str:
        """The bucket error zips and rejection reports land in."""
        return f"{self.prefix}-errors"

    @property
    def quick_deploy_bucket(self) -> str:
        """The bucket quick-deploy folders are uploaded to."""
        return f"{self.prefix}-quick-deploy"

    @property
    def queue(self) -> str:
        """The SQS queue receiving the inputs bucket's notifications."""
        return f"{self.prefix}-s3-events"

    @property
    def dead_letter_queue(self) -> str:
        """The queue messages land in after too many failed receives."""
        return f"{self.prefix}-s3-events-dlq"

    @property
    def table(self) -> str:
        """The DynamoDB table of job rows."""
        return f"{self.prefix}-jobs"

    @property
    def secret(self) -> str:
        """The Secrets Manager secret whose files each job gets."""
        return f"{self.prefix}-secrets"

    @property
    def ecr_repo(self) -> str:
        """The ECR repository the worker image is deployed to: the flock's own, so no earlier image runs.

        The local registry outlives the flock; a repository named after the prefix alone would hand a new
        flock the image an earlier one was given.
        """
        return f"{self.prefix}-{self.instance}" if self.instance else self.prefix

    @property
    def compute_environment(self) -> str:
        """The Batch compute environment."""
        return f"{self.prefix}-compute"

    @property
    def job_queue(self) -> str:
        """The Batch job queue."""
        return f"{self.prefix}-queue"

    @property
    def job_definition(self) -> str:
        """The Batch job definition."""
        return f"{self.prefix}-worker"

    @property
    def endpoint_function(self) -> str:
        """The name the batching endpoint answers to."""
        return f"{self.prefix}-batching-endpoint"

    @property
    def stack(self) -> str:
        """The name the flock is described under."""
        return self.prefix


@dataclasses.dataclass(kw_only=True)
class FlockState:
    """What `shepard local up` recorded: where the flock listens and which processes make it."""

    directory: Path
    names: FlockNames
    aws_endpoint: str
    api_endpoint: str = ""
    moto_pid: int = 0
    runner_pid: int = 0
    runtime: str = "process"
    registry: str = ""
    started_at: str = ""
    template: str = ""
    provisioned_from: str = ""
    scheduler_function: str = ""
    endpoint_function: str = ""

    @property
    def path(self) -> Path:
        """The state file."""
        return self.directory / STATE_FILE

    @property
    def work_dir(self) -> Path:
        """Where jobs get their scratch space (the worker's root mount)."""
        return self.directory / "mnt" / "root"

    @property
    def log_dir(self) -> Path:
        """Where the flock's processes write their logs."""
        return self.directory / "logs"

    def save(self) -> None:
        """Write the state file atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = dataclasses.asdict(self)
        data["directory"] = str(self.directory)
        data["names"] = dataclasses.asdict(self.names)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path)

    @classmethod
    def load(cls, directory: Path) -> FlockState | None:
        """Read the state file in `directory`, or None when no flock was started there."""
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise FlockStateError(
                f"{path} is unreadable ({exc}); remove it and run `shepard local up`"
            ) from exc
        data["directory"] = Path(data["directory"])
        data["names"] = FlockNames(**data.get("names", {}))
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


class FlockStateError(Exception):
    """The recorded state of a local flock cannot be used."""
