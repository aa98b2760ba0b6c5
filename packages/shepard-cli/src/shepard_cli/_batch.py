"""batch: validate job folders, zip them (zip64 when needed) and upload them to the inputs bucket."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Final

from shepard_core import InputsError, parse_inputs

from shepard_cli._errors import CliError
from shepard_cli._job_files import job_files

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_s3 import S3Client
    from rich.progress import Progress

INPUTS_FILE: Final = "inputs.txt"
MULTIPART_THRESHOLD: Final = 64 * 1024 * 1024
MAX_KEY_LENGTH: Final = 1024


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """One job to batch: a folder, and the inputs.txt to put in its zip when it is not the folder's own."""

    folder: Path
    inputs_text: bytes | None = None
    label: str = ""

    @property
    def name(self) -> str:
        """Return how messages name this job."""
        return self.label or str(self.folder)


def _inputs_of(folder: Path, raw: bytes, where: str) -> dict[str, str]:
    try:
        return parse_inputs(raw)
    except InputsError as exc:
        raise CliError(
            f"{where}: {exc}", f"Fix it and batch again; nothing was uploaded from {folder}"
        ) from None


def read_job(folder: Path) -> JobSpec:
    """Return the job of `folder` after checking its inputs.txt, or raise CliError saying what to fix."""
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder", "Give the folder holding the job's inputs.txt")
    job_files(folder)  # refuses links that leave the folder before anything is read through them
    inputs = folder / INPUTS_FILE
    if not inputs.is_file():
        raise CliError(
            f"{folder} has no {INPUTS_FILE}",
            'Every job needs one, at least `{}`; put the job\'s variables in it as {"NAME": "value"}',
        )
    _inputs_of(folder, inputs.read_bytes(), str(inputs))
    return JobSpec(folder)


def jobs_from_tsv(table: Path, folder: Path) -> list[JobSpec]:
    """Return one job per row of a TSV of parameter sets over `folder`; each row overrides its inputs.txt.

    The header row names the variables; an empty cell leaves that variable as the folder sets it.
    """
    base = read_job(folder)
    defaults = parse_inputs((base.folder / INPUTS_FILE).read_bytes())
    try:
        with table.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {table}: {exc}", "Give a UTF-8, tab-separated file") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:  # noqa: PLR2004 - a header and at least one row
        raise CliError(
            f"{table} has no parameter sets", "Put variable names on the first line, one job per line"
        )
    header = [cell.strip() for cell in rows[0]]
    jobs = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CliError(
                f"{table} line {number} has {len(row)} cells but the header has {len(header)}",
                "Separate cells with tabs, one per header column",
            )
        inputs = dict(defaults) | {key: value for key, value in zip(header, row, strict=True) if value != ""}
        text = json.dumps(inputs, indent=2).encode()
        _inputs_of(folder, text, f"{table} line {number}")
        jobs.append(JobSpec(folder, text, f"{table.name} line {number}"))
    return jobs


def zip_job(job: JobSpec, destination: Path) -> int:
    """Zip the job's folder into `destination` (zip64 when needed) and return the zip's size in bytes.

    Links are followed or refused as `_job_files` says.
    """
    files = job_files(job.folder)
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for file in files:
            if file.name == INPUTS_FILE and job.inputs_text is not None:
                continue
            archive.write(file.source, file.name)
        if job.inputs_text is not None:
            archive.writestr(INPUTS_FILE, job.inputs_text)
    return destination.stat().st_size


def zip_key(override: str | None) -> str:
    """Return the object key of a job zip: a fresh UUID, or the override (with `.zip` added if missing)."""
    if override is None:
        return f"{uuid.uuid4()}.zip"
    key = override if override.endswith(".zip") else f"{override}.zip"
    if key.startswith("/") or ".." in key.split("/") or len(key.encode()) > MAX_KEY_LENGTH or key == ".zip":
        raise CliError(f"{override!r} cannot name a job zip", "Give a plain name such as my-job.zip")
    return key


def upload(
    s3: S3Client, path: Path, bucket: str, key: str, on_bytes: Callable[[int], None] | None = None
) -> None:
    """Upload one zip, in parallel parts when it is large, reporting bytes sent to `on_bytes`."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
    s3.upload_file(str(path), bucket, key, Callback=on_bytes, Config=config)


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="shepard-batch-") as name:
        yield Path(name)


def batch_jobs(  # noqa: PLR0913 - the client, where, what and how
    s3: S3Client,
    bucket: str,
    jobs: list[JobSpec],
    *,
    zip_name_override: str | None = None,
    parallel: int = 4,
    progress: Progress | None = None,
    on_done: Callable[[JobSpec, str], None] | None = None,
) -> list[tuple[JobSpec, str]]:
    """Zip and upload every job (all were validated before), in parallel; return each job with its key.

    `on_done` hears of each job as soon as its upload is complete, so when one upload fails the
    caller still knows which jobs were batched (the others are still tried; the first failure is raised).
    """
    if zip_name_override is not None and len(jobs) > 1:
        raise CliError("--zip-name-override names one zip", "Leave it out when batching several jobs")
    keys = [zip_key(zip_name_override) for _ in jobs]
    overall = progress.add_task("jobs", total=len(jobs)) if progress is not None and len(jobs) > 1 else None
    lock = threading.Lock()

    def run(job: JobSpec, key: str) -> tuple[JobSpec, str]:
        with _scratch() as scratch:
            path = scratch / "job.zip"
            size = zip_job(job, path)
            task = None
            if progress is not None:
                with lock:
                    task = progress.add_task(key, total=size)

            def advance(sent: int) -> None:
                if progress is not None and task is not None:
                    progress.advance(task, sent)

            upload(s3, path, bucket, key, advance)
            with lock:
                if progress is not None and task is not None and overall is not None:
                    progress.remove_task(task)
                    progress.advance(overall, 1)
                if on_done is not None:
                    on_done(job, key)
        return job, key

    workers = max(1, min(parallel, len(jobs), (os.cpu_count() or 1) * 4))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shepard-batch") as pool:
        return list(pool.map(run, jobs, keys))
