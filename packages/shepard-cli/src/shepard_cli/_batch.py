"""batch: validate job folders, zip them (zip64 when needed) and upload them to the inputs bucket."""

from __future__ import annotations

import contextlib
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

from shepard_core import InputsError, job_id_for_s3_object, parse_inputs

from shepard_cli._errors import CliError
from shepard_cli._job_files import job_files
from shepard_cli._tsv import read_parameter_table

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
    source: Path | None = None
    line: int | None = None

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
    """Return one job per line of a TSV of parameter sets over `folder`; each line overrides its inputs.txt.

    The header line names the variables; an empty cell leaves that variable as the folder sets it.
    Cells are taken literally and anything ambiguous is refused (see `_tsv`), before any upload.
    """
    base = read_job(folder)
    defaults = parse_inputs((base.folder / INPUTS_FILE).read_bytes())
    parameters = read_parameter_table(table)
    for column, name in enumerate(parameters.header, start=1):
        try:
            parse_inputs(json.dumps({name: ""}).encode())
        except InputsError as exc:
            raise CliError(
                f"{table} line 1, column {column}: {exc}", "Rename the column; nothing was uploaded"
            ) from None
    jobs = []
    for row in parameters.rows:
        cells = zip(parameters.header, row.cells, strict=True)
        inputs = dict(defaults) | {key: value for key, value in cells if value != ""}
        text = json.dumps(inputs, indent=2).encode()
        _inputs_of(folder, text, f"{table} line {row.line}")
        jobs.append(JobSpec(folder, text, f"{table.name} line {row.line}", source=table, line=row.line))
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


@dataclasses.dataclass(frozen=True)
class BatchedJob:
    """One uploaded job: its spec, its object key and version, and the job UUID the scheduler will give it.

    `job_uuid` is derived as the scheduler derives it from the object's identity; it is None when the
    bucket is not versioned (the scheduler then also uses the event's sequencer, which only S3 knows).
    """

    job: JobSpec
    key: str
    version_id: str | None
    job_uuid: str | None


def upload(
    s3: S3Client, path: Path, bucket: str, key: str, on_bytes: Callable[[int], None] | None = None
) -> str | None:
    """Upload one zip, in parallel parts when it is large; return the stored version id (None: unversioned).

    A zip below the multipart threshold is one PutObject, whose answer names the version; a larger
    one is sent in parts and its version read back with HeadObject (its key is this upload's own).
    """
    from boto3.s3.transfer import TransferConfig

    size = path.stat().st_size
    if size < MULTIPART_THRESHOLD:
        with path.open("rb") as body:
            answer = s3.put_object(Bucket=bucket, Key=key, Body=body)
        if on_bytes is not None:
            on_bytes(size)
        return _version(answer.get("VersionId"))
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
    s3.upload_file(str(path), bucket, key, Callback=on_bytes, Config=config)
    return _version(s3.head_object(Bucket=bucket, Key=key).get("VersionId"))


def _version(version_id: str | None) -> str | None:
    """Return a version id, or None for an unversioned bucket's (absent or "null")."""
    return version_id if version_id and version_id != "null" else None


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
    on_done: Callable[[BatchedJob], None] | None = None,
) -> list[BatchedJob]:
    """Zip and upload every job (all were validated before), in parallel; return each job with its key.

    `on_done` hears of each job as soon as its upload is complete, so when one upload fails the
    caller still knows which jobs were batched (the others are still tried; the first failure is raised).
    With several jobs, progress shows one bar counting jobs rather than a bar per upload.
    """
    if zip_name_override is not None and len(jobs) > 1:
        raise CliError("--zip-name-override names one zip", "Leave it out when batching several jobs")
    keys = [zip_key(zip_name_override) for _ in jobs]
    overall = progress.add_task("jobs", total=len(jobs)) if progress is not None and len(jobs) > 1 else None
    lock = threading.Lock()

    def run(job: JobSpec, key: str) -> BatchedJob:
        with _scratch() as scratch:
            path = scratch / "job.zip"
            size = zip_job(job, path)
            task = None
            if progress is not None and overall is None:
                with lock:
                    task = progress.add_task(key, total=size)

            def advance(sent: int) -> None:
                if progress is not None and task is not None:
                    progress.advance(task, sent)

            version_id = upload(s3, path, bucket, key, advance)
        uploaded = BatchedJob(job, key, version_id, job_uuid_of(bucket, key, version_id))
        with lock:
            if progress is not None and overall is not None:
                progress.advance(overall, 1)
            if on_done is not None:
                on_done(uploaded)
        return uploaded

    workers = max(1, min(parallel, len(jobs), (os.cpu_count() or 1) * 4))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shepard-batch") as pool:
        return list(pool.map(run, jobs, keys))


def job_uuid_of(bucket: str, key: str, version_id: str | None) -> str | None:
    """Return the job UUID the scheduler gives this object version, or None when it is not versioned."""
    if version_id is None:
        return None
    return job_id_for_s3_object(bucket, key, version_id=version_id)
