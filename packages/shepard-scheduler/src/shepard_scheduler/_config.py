"""The scheduler's settings, read from the environment variables the template sets."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shepard_core import RECONCILER_SETTINGS, SCHEDULER_SETTINGS, Setting

from shepard_scheduler._submit_tags import flock_tags

if TYPE_CHECKING:
    from collections.abc import Mapping

TABLE_NAME: Final = Setting.TABLE_NAME.value
JOB_QUEUE: Final = Setting.JOB_QUEUE.value
JOB_DEFINITION: Final = Setting.JOB_DEFINITION.value
INPUTS_BUCKET: Final = Setting.INPUTS_BUCKET.value
ERRORS_BUCKET: Final = Setting.ERRORS_BUCKET.value
DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES: Final = Setting.DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES.value
PROJECT_NAME: Final = Setting.PROJECT_NAME.value


class SchedulerConfigError(ValueError):
    """The environment lacks a setting the scheduler needs, or holds an unusable one."""


class ReconcilerConfigError(ValueError):
    """The reconciler's environment is missing a setting it needs."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """Where the scheduler keeps job rows, submits jobs and files rejection reports."""

    table_name: str
    job_queue: str
    job_definition: str
    inputs_bucket: str
    errors_bucket: str
    days_to_keep_failed_launch_indexes: int
    project_name: str
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    """The flock's tags every SubmitJob carries: Project, Team, Contact, WorkloadType (empty: left off)."""

    @classmethod
    def variable_names(cls) -> frozenset[str]:
        """Return the name of every environment variable from_env reads (core's SCHEDULER_SETTINGS)."""
        return SCHEDULER_SETTINGS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SchedulerConfig:
        """Return the config `environ` describes, or raise SchedulerConfigError naming every gap."""
        names = (TABLE_NAME, JOB_QUEUE, JOB_DEFINITION, INPUTS_BUCKET, ERRORS_BUCKET, PROJECT_NAME)
        problems = [f"{name} is not set" for name in names if not environ.get(name, "").strip()]
        raw_days = environ.get(DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES, "").strip()
        days = 0
        if not raw_days:
            problems.append(f"{DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES} is not set")
        else:
            try:
                days = int(raw_days)
            except ValueError:
                problems.append(f"{DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES} is {raw_days!r}, not a whole number")
            else:
                if days < 1:
                    problems.append(f"{DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES} is {days}; it must be at least 1")
        if problems:
            raise SchedulerConfigError("the scheduler is misconfigured: " + "; ".join(problems))
        return cls(
            table_name=environ[TABLE_NAME].strip(),
            job_queue=environ[JOB_QUEUE].strip(),
            job_definition=environ[JOB_DEFINITION].strip(),
            inputs_bucket=environ[INPUTS_BUCKET].strip(),
            errors_bucket=environ[ERRORS_BUCKET].strip(),
            days_to_keep_failed_launch_indexes=days,
            project_name=environ[PROJECT_NAME].strip(),
            tags=flock_tags(environ),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReconcilerConfig:
    """Where the reconciler finds job rows and files the error reports of jobs Batch ended."""

    table_name: str
    errors_bucket: str
    project_name: str

    @classmethod
    def variable_names(cls) -> frozenset[str]:
        """Return the name of every environment variable from_env reads (core's RECONCILER_SETTINGS)."""
        return RECONCILER_SETTINGS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ReconcilerConfig:
        """Return the config `environ` describes, or raise ReconcilerConfigError naming every gap."""
        names = (TABLE_NAME, ERRORS_BUCKET, PROJECT_NAME)
        problems = [f"{name} is not set" for name in names if not environ.get(name, "").strip()]
        if problems:
            raise ReconcilerConfigError("the reconciler is misconfigured: " + "; ".join(problems))
        return cls(
            table_name=environ[TABLE_NAME].strip(),
            errors_bucket=environ[ERRORS_BUCKET].strip(),
            project_name=environ[PROJECT_NAME].strip(),
        )
