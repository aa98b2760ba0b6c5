"""The Powertools Logger and Metrics both handlers share, and the counters they publish."""

from __future__ import annotations

import collections
from typing import Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from shepard_scheduler._outcome import Outcome, OutcomeKind

SERVICE: Final = "shepard-scheduler"

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE)

JOBS_SCHEDULED: Final = "JobsScheduled"
JOBS_REJECTED: Final = "JobsRejected"
DUPLICATES_SKIPPED: Final = "DuplicatesSkipped"
SCHEDULING_FAILURES: Final = "SchedulingFailures"

_METRIC_OF: Final = {
    OutcomeKind.SCHEDULED: JOBS_SCHEDULED,
    OutcomeKind.REJECTED: JOBS_REJECTED,
    OutcomeKind.DUPLICATE: DUPLICATES_SKIPPED,
}


class Tally:
    """Counts one invocation's outcomes and publishes them as EMF metrics, zeros included."""

    def __init__(self) -> None:
        """Start every counter at zero."""
        self._counts: collections.Counter[str] = collections.Counter()

    def count(self, outcome: Outcome) -> None:
        """Count one outcome (ignored events are not counted)."""
        name = _METRIC_OF.get(outcome.kind)
        if name is not None:
            self._counts[name] += 1

    def count_failure(self) -> None:
        """Count one job left for redelivery."""
        self._counts[SCHEDULING_FAILURES] += 1

    def publish(self, namespace: str) -> None:
        """Emit every counter under `namespace` as one EMF document on stdout."""
        metrics.namespace = namespace
        for name in (JOBS_SCHEDULED, JOBS_REJECTED, DUPLICATES_SKIPPED, SCHEDULING_FAILURES):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=self._counts[name])
        metrics.flush_metrics()


def log_outcome(outcome: Outcome, **keys: object) -> None:
    """Log how scheduling one job ended, at a level that matches."""
    fields = {k: v for k, v in {"outcome": outcome.kind.value, **keys}.items() if v is not None}
    fields.update(
        {
            k: v
            for k, v in {
                "batch_job_id": outcome.batch_job_id,
                "reason": outcome.reason,
                "error": outcome.error,
                "report_key": outcome.report_key,
                "resumed": outcome.resumed or None,
            }.items()
            if v is not None
        }
    )
    if outcome.kind is OutcomeKind.REJECTED:
        logger.warning("job rejected", extra=fields)
    elif outcome.kind is OutcomeKind.SCHEDULED:
        logger.info("job scheduled", extra=fields)
    elif outcome.kind is OutcomeKind.DUPLICATE:
        logger.info("job already handled; duplicate skipped", extra=fields)
    elif outcome.job_id is not None:
        logger.warning("job zip gone before it was read; event ignored", extra=fields)
    else:
        logger.info("event ignored", extra=fields)
