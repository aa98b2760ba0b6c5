"""The Powertools Logger and Metrics both handlers share, and the counters and timings they publish."""

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
SCHEDULING_LATENCY: Final = "SchedulingLatency"
"""Seconds from a job's arrival (its upload, or its request) to its SubmitJob; one value per job."""
JOBS_PER_SUBMIT: Final = "JobsPerSubmitJob"
"""Jobs one SubmitJob launched (an array's size, or 1); one value per SubmitJob."""

COUNTERS: Final = (JOBS_SCHEDULED, JOBS_REJECTED, DUPLICATES_SKIPPED, SCHEDULING_FAILURES)
"""The counters every invocation publishes, zeros included."""
METRIC_NAMES: Final = (*COUNTERS, SCHEDULING_LATENCY, JOBS_PER_SUBMIT)
"""Every metric the scheduler and the batching endpoint publish."""

_METRIC_OF: Final = {
    OutcomeKind.SCHEDULED: JOBS_SCHEDULED,
    OutcomeKind.REJECTED: JOBS_REJECTED,
    OutcomeKind.DUPLICATE: DUPLICATES_SKIPPED,
}


class Tally:
    """Counts one invocation's outcomes and times its submissions, and publishes them as EMF metrics."""

    def __init__(self, *, arrived_at: float | None = None) -> None:
        """Start every counter at zero; `arrived_at` is when the jobs arrived, unless told per job."""
        self._arrived_at = arrived_at
        self._counts: collections.Counter[str] = collections.Counter()
        self._latencies: list[float] = []
        self._submit_sizes: dict[str, int] = {}

    def count(self, outcome: Outcome, *, arrived_at: float | None = None) -> None:
        """Count one outcome (ignored events are not counted); time it if it was submitted now.

        `arrived_at` (epoch seconds) is when the job arrived: the upload's event time, or the request's
        (default: the tally's).
        """
        arrived_at = self._arrived_at if arrived_at is None else arrived_at
        name = _METRIC_OF.get(outcome.kind)
        if name is not None:
            self._counts[name] += 1
        if outcome.kind is not OutcomeKind.SCHEDULED or outcome.submitted_at is None:
            return
        if arrived_at is not None:
            self._latencies.append(max(outcome.submitted_at - arrived_at, 0.0))
        if outcome.batch_job_id is not None and outcome.submit_size is not None:
            # An array's children are "<array id>:<index>"; every child of one SubmitJob shares the array id.
            self._submit_sizes[outcome.batch_job_id.split(":", 1)[0]] = outcome.submit_size

    def count_failure(self) -> None:
        """Count one job left for redelivery."""
        self._counts[SCHEDULING_FAILURES] += 1

    def publish(self, namespace: str) -> None:
        """Emit every counter under `namespace` as EMF on stdout, with each latency and SubmitJob size.

        Powertools writes a document per 100 values of one metric, so thousands of jobs stay valid EMF.
        """
        metrics.namespace = namespace
        for name in COUNTERS:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=self._counts[name])
        for size in self._submit_sizes.values():
            metrics.add_metric(name=JOBS_PER_SUBMIT, unit=MetricUnit.Count, value=size)
        for latency in self._latencies:
            metrics.add_metric(name=SCHEDULING_LATENCY, unit=MetricUnit.Seconds, value=round(latency, 3))
        if metrics.metric_set:  # the last add may have written the document already
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
