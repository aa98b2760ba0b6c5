"""Results: one job's output or error zip, and all outputs of a TAG or of chosen jobs as one zip.

Every download is streamed through this server from S3 with its own credentials: the browser never
sees a credential, a signed URL or a bucket, only this server's own links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from shepard_core import TAG, is_counter_key
from shepard_core._naming import OUTPUT_MARKER, sanitize_tag
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from shepard_ui._context import render, ui_state
from shepard_ui._job_detail import ERRORS, OUTPUTS, job_prefix
from shepard_ui._zipstream import CHUNK_BYTES, zip_objects

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.requests import Request

    from shepard_ui._flock import Flock

MAX_SELECTED_JOBS: Final = 1000


def attachment(name: str) -> dict[str, str]:
    """Return the Content-Disposition header that saves a download under `name` (any characters)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return {
        "content-disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
    }


def _bucket(flock: Flock, role: str) -> str | None:
    return {OUTPUTS: flock.names.outputs_bucket, ERRORS: flock.names.errors_bucket}.get(role)


async def download(request: Request) -> Response:
    """Stream one object of the outputs or errors bucket to the browser as an attachment."""
    flock = ui_state(request).flock
    role, key = request.path_params["bucket"], request.path_params["key"]
    bucket = _bucket(flock, role)
    if bucket is None:
        return PlainTextResponse(f"No {role} bucket is known to this app.", status_code=404)
    import botocore.exceptions

    try:
        answer = await run_in_threadpool(lambda: flock.s3.get_object(Bucket=bucket, Key=key))
    except botocore.exceptions.ClientError:
        return PlainTextResponse(f"No object {key} in the {role} bucket.", status_code=404)
    headers = attachment(key.rsplit("/", 1)[-1]) | {"content-length": str(answer["ContentLength"])}
    chunks = answer["Body"].iter_chunks(CHUNK_BYTES)
    return StreamingResponse(
        iterate_in_threadpool(chunks), media_type=answer.get("ContentType") or "application/octet-stream",
        headers=headers,
    )  # fmt: skip


def _prefix_keys(flock: Flock, bucket: str, prefix: str) -> Iterator[tuple[str, str, str]]:
    pages = flock.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            yield bucket, item["Key"], item["Key"]


def _tag_objects(flock: Flock, bucket: str, tag: str) -> Iterator[tuple[str, str, str]]:
    cleaned = sanitize_tag(tag)
    yield from _prefix_keys(flock, bucket, f"{cleaned}_{OUTPUT_MARKER}" if cleaned else OUTPUT_MARKER)


def _job_objects(flock: Flock, bucket: str, jobs: list[str]) -> Iterator[tuple[str, str, str]]:
    from shepard_cli._errors import CliError
    from shepard_cli._jobs import get_row

    for job in jobs:
        try:
            row = get_row(flock.dynamodb, flock.names.table, job)
        except CliError:
            continue
        yield from _prefix_keys(flock, bucket, job_prefix(OUTPUT_MARKER, row))


async def bundle(request: Request) -> Response:
    """Stream all outputs of a TAG (`?tag=`) or of chosen jobs (`?job=` repeated) as one zip."""
    flock = ui_state(request).flock
    bucket = flock.names.outputs_bucket
    if not bucket:
        return PlainTextResponse("No outputs bucket is known to this app.", status_code=404)
    tag = request.query_params.get(TAG.lower(), "").strip()
    jobs = [job for job in request.query_params.getlist("job") if job and not is_counter_key(job)]
    if tag:
        objects, name = _tag_objects(flock, bucket, tag), f"{sanitize_tag(tag) or 'untagged'}-outputs.zip"
    elif jobs:
        objects, name = _job_objects(flock, bucket, jobs[:MAX_SELECTED_JOBS]), "selected-outputs.zip"
    else:
        return PlainTextResponse("Name a TAG or choose jobs.", status_code=400)
    stream = zip_objects(flock.s3, objects)
    return StreamingResponse(
        iterate_in_threadpool(stream), media_type="application/zip", headers=attachment(name)
    )


def _job_file_key(flock: Flock, job: str, what: str) -> tuple[str, str] | None:
    """Return (bucket role, key) of the job's newest error zip or its rejection report, if there is one."""
    from shepard_cli._jobs import get_row
    from shepard_cli._rejections import report_key
    from shepard_core._naming import ERROR_MARKER

    from shepard_ui._job_detail import list_objects

    row = get_row(flock.dynamodb, flock.names.table, job)
    if what == "report.json":
        return ERRORS, report_key(row)
    found = list_objects(flock.s3, ERRORS, flock.names.errors_bucket, job_prefix(ERROR_MARKER, row))
    return (ERRORS, found[0].key) if found else None


async def job_file(request: Request) -> Response:
    """Stream a job's newest error zip (`error.zip`) or its rejection report (`report.json`)."""
    from shepard_cli._errors import CliError

    flock = ui_state(request).flock
    job, what = request.path_params["uuid"], request.url.path.rsplit("/", 1)[-1]
    try:
        found = await run_in_threadpool(_job_file_key, flock, job, what)
    except CliError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    if found is None:
        return PlainTextResponse(f"Job {job} has no error zip (yet).", status_code=404)
    request.path_params["bucket"], request.path_params["key"] = found
    return await download(request)


async def page(request: Request) -> Response:
    """Render the Results page: a TAG's outputs, or the newest complete jobs to choose from."""
    from shepard_ui._listing import newest_jobs

    rows, error = await run_in_threadpool(newest_jobs, ui_state(request).flock, "complete")
    return render(request, "results.html", rows=rows, error=error)


def routes() -> list[Route]:
    """Return the page's routes."""
    return [
        Route("/results", page),
        Route("/results/outputs.zip", bundle),
        Route("/download/{bucket}/{key:path}", download),
        Route("/jobs/{uuid}/error.zip", job_file),
        Route("/jobs/{uuid}/report.json", job_file),
    ]
