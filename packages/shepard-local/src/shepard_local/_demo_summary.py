"""What the demo saw of each job, its closing summary, and what in it counts as a problem."""

from __future__ import annotations

import dataclasses
import statistics
import zipfile
from typing import TYPE_CHECKING

from shepard_core import parse_child_job_id

if TYPE_CHECKING:
    from pathlib import Path


@dataclasses.dataclass
class DemoJob:
    """One job of the demo, as the demo saw it."""

    label: str
    path: str
    uploaded_at: float
    uuid: str | None = None
    zip_key: str | None = None
    status: str = "(not yet scheduled)"
    started_at: float | None = None
    outputs_at: float | None = None
    output_key: str | None = None
    reason: str | None = None
    attempts: int = 0
    batch_job_id: str | None = None


@dataclasses.dataclass
class DemoResult:
    """What the demo did and measured."""

    mode: str
    jobs: list[DemoJob]
    retrieved: list[str]
    retrieve_dir: Path
    seconds: float
    submit_job_calls: int | None = None
    """How many SubmitJob calls the flock's Batch received for all the demo's jobs (None: not known)."""
    removed_images: list[str] = dataclasses.field(default_factory=list)
    """The images the demo built and removed from the Docker engine at its end."""

    def median(self, attribute: str) -> float | None:
        """Return the median seconds from upload to `attribute` (started_at or outputs_at)."""
        values = [
            getattr(job, attribute) - job.uploaded_at
            for job in self.jobs
            if getattr(job, attribute) is not None
        ]
        return statistics.median(values) if values else None


def summary_lines(result: DemoResult) -> list[str]:
    """Return the demo's closing summary as lines of text."""
    lines = ["", "=" * 100, f"Shepard local demo: {result.mode}", "=" * 100]
    lines.append(f"{'job':<17} {'path':<5} {'status':<14} {'tries':<5} {'uuid':<36}  output")
    lines += [
        f"{job.label:<17} {job.path:<5} {job.status:<14} {job.attempts:<5} {job.uuid or '-':<36}  "
        f"{job.output_key or '-'}"
        for job in result.jobs
    ]
    rejected = [job for job in result.jobs if job.status == "rejected"]
    lines += [f"\nRejected {job.zip_key or job.uuid}: {job.reason}" for job in rejected]
    complete = sum(job.status == "job_complete" for job in result.jobs)
    lines.append(
        f"\n{complete} of {len(result.jobs)} jobs complete, {len(rejected)} rejected; "
        f"{len(result.retrieved)} output zips retrieved into {result.retrieve_dir}:"
    )
    for path in sorted(result.retrieve_dir.rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            members = ", ".join(sorted(archive.namelist()))
        lines.append(f"  {path.name}: {members}")
    lines.append(submit_job_line(result))
    to_start, to_outputs = result.median("started_at"), result.median("outputs_at")
    lines.append(
        "Median seconds from upload to start: "
        + (f"{to_start:.2f}" if to_start is not None else "-")
        + "; to outputs available: "
        + (f"{to_outputs:.2f}" if to_outputs is not None else "-")
        + f"  (demo took {result.seconds:.0f} s)"
    )
    lines.append(
        "The flock has been stopped: its state lived in the emulator's memory; "
        "the retrieved outputs stay on disk."
    )
    return lines


def batched_arrays(result: DemoResult) -> set[str]:
    """Return the Batch jobs (arrays, or plain jobs) that ran the jobs batched with `--many`."""
    return {
        parse_child_job_id(job.batch_job_id)[0]
        for job in result.jobs
        if job.path == "S3" and job.label != "bad job" and job.batch_job_id
    }


def submit_job_line(result: DemoResult) -> str:
    """Return the summary's line on how few SubmitJob calls the jobs took."""
    many = sum(job.path == "S3" and job.label != "bad job" for job in result.jobs)
    arrays = len(batched_arrays(result))
    scheduled = sum(job.batch_job_id is not None for job in result.jobs)
    calls = "-" if result.submit_job_calls is None else str(result.submit_job_calls)
    return (
        f"SubmitJob calls: {calls} for the {scheduled} scheduled jobs; the {many} jobs batched with "
        f"--many ran in {arrays} Batch job(s) ({many / max(arrays, 1):.1f} jobs per SubmitJob)"
    )


def demo_problems(result: DemoResult) -> list[str]:
    """Return what went wrong: a good job not complete, a bad job not rejected, a time travel, no arrays."""
    problems = []
    for job in result.jobs:
        expected = "rejected" if job.label == "bad job" else "job_complete"
        if job.status != expected:
            problems.append(f"{job.label} ended {job.status}, expected {expected}")
        for moment in ("started_at", "outputs_at"):
            at = getattr(job, moment)
            if at is not None and at < job.uploaded_at:
                problems.append(f"{job.label} {moment} {at - job.uploaded_at:.2f} s after its upload")
    many = sum(job.path == "S3" and job.label != "bad job" for job in result.jobs)
    if many > 1 and len(batched_arrays(result)) >= many:
        problems.append(f"the {many} jobs batched with --many took one SubmitJob each, not arrays")
    return problems
