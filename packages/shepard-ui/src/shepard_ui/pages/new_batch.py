"""New batch: a job folder, a zip, or a folder and a TSV of parameter sets, checked, zipped and uploaded.

The checks and the zips are `shepard batch`'s own (`read_job`, `jobs_from_tsv`, `batch_jobs`): nothing
reaches the inputs bucket unless every job passed them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from shepard_cli._errors import CliError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shepard_ui._context import render, ui_state

if TYPE_CHECKING:
    from shepard_cli._batch import BatchedJob, JobSpec
    from starlette.datastructures import FormData
    from starlette.requests import Request

    from shepard_ui._flock import Flock

MAX_FILES: Final = 100_000
MAX_FIELDS: Final = 100
JOB_FOLDER: Final = "job"
PROBLEMS_AFTER: Final = ", so nothing was uploaded: "


async def page(request: Request) -> Response:
    """Render the New batch page."""
    return render(request, "new_batch.html", inputs_bucket=ui_state(request).flock.names.inputs_bucket)


def _problems(error: CliError, scratch: Path) -> dict[str, Any]:
    """Return a refusal as JSON: each problem on its own (one per TSV line), and what to do."""
    cause = error.cause.replace(f"{scratch}/", "")
    head, found, listed = cause.partition(PROBLEMS_AFTER)
    problems = [f"{head}: {item}" for item in listed.split("; ")] if found else [cause]
    return {"ok": False, "problems": problems, "hint": error.hint.replace(f"{scratch}/", "")}


def _jobs(form: FormData, scratch: Path) -> list[JobSpec]:
    """Stage what the form holds and return its jobs, checked as `shepard batch` checks them."""
    from shepard_cli._batch import jobs_from_tsv, read_job

    from shepard_ui._staging import safe_parts, stage_files, stage_zip

    archive = form.get("zip")
    if isinstance(archive, UploadFile):
        stem = Path(archive.filename or JOB_FOLDER).stem or JOB_FOLDER
        folder = stage_zip(archive.file, scratch / safe_parts(stem)[-1])
    else:
        files = [
            (item.filename or "", item.file) for item in form.getlist("file") if isinstance(item, UploadFile)
        ]
        folder = stage_files(files, scratch, JOB_FOLDER)
    table = form.get("tsv")
    if not isinstance(table, UploadFile):
        return [read_job(folder)]
    tsv = scratch / safe_parts(table.filename or "parameters.tsv")[-1]
    tsv.write_bytes(table.file.read())
    return jobs_from_tsv(tsv, folder)


def _batch(flock: Flock, form: FormData) -> dict[str, Any]:
    """Check, zip and upload the form's jobs; return what happened as JSON."""
    from shepard_cli._batch import batch_jobs

    bucket = flock.names.inputs_bucket
    if not bucket:
        raise CliError("no inputs bucket is known", "Pass --s3-bucket-to-upload-to or set it in the profile")
    with tempfile.TemporaryDirectory(prefix="shepard-ui-") as name:
        scratch = Path(name)
        try:
            jobs = _jobs(form, scratch)
        except CliError as exc:
            return _problems(exc, scratch)
        done: list[BatchedJob] = batch_jobs(flock.s3, bucket, jobs)
    return {
        "ok": True,
        "bucket": bucket,
        "jobs": [{"label": item.job.label or "job", "key": item.key, "uuid": item.job_uuid} for item in done],
    }


async def submit(request: Request) -> Response:
    """Take the dropped job (folder files, or a zip, and maybe a TSV), check it and batch it."""
    state = ui_state(request)
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS) as form:
        answer = await run_in_threadpool(_batch, state.flock, form)
    return JSONResponse(answer, status_code=200 if answer["ok"] else 422)


def routes() -> list[Route]:
    """Return the page's routes."""
    return [Route("/batch", page), Route("/api/batch", submit, methods=["POST"])]
