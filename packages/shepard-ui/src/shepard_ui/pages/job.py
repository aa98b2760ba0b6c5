"""Job: one job's inputs, times, attempts, exit code, reason, log (live while it runs), zips, and actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shepard_cli._errors import CliError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shepard_ui._context import render, ui_state

if TYPE_CHECKING:
    from starlette.requests import Request


async def page(request: Request) -> Response:
    """Render the Job page, or a page saying why the job cannot be shown."""
    from shepard_ui._job_detail import job_detail

    state = ui_state(request)
    job = request.path_params["uuid"]
    try:
        detail = await run_in_threadpool(job_detail, state.flock, job)
    except CliError as exc:
        if request.query_params.get("new"):
            # Just uploaded: the scheduler records the job within seconds; the page looks again.
            return render(request, "pending.html", status_code=202, uuid=job)
        return render(request, "problem.html", status_code=404, title="No such job", error=exc)
    return render(request, "job.html", job=detail, can_run_again=state.run_again is not None)


async def log(request: Request) -> Response:
    """Return the job's log lines as JSON: its tail (no `after`), else what came after `after`."""
    from shepard_ui._logs import read_log

    flock = ui_state(request).flock
    after = request.query_params.get("after") or None
    try:
        chunk = await run_in_threadpool(read_log, flock, request.path_params["uuid"], after)
    except CliError as exc:
        return JSONResponse({"lines": [], "after": None, "ended": True, "message": str(exc)}, status_code=404)
    return JSONResponse(chunk.to_json())


async def cancel(request: Request) -> Response:
    """Cancel the job as `shepard cancel` does; answer with the sentence it prints."""
    from shepard_cli._jobs import cancel_job

    flock = ui_state(request).flock
    job = request.path_params["uuid"]
    try:
        said = await run_in_threadpool(cancel_job, flock.dynamodb, flock.batch, flock.names.table, job)
    except CliError as exc:
        return JSONResponse({"ok": False, "message": str(exc)}, status_code=409)
    return JSONResponse({"ok": True, "message": said})


async def run_again(request: Request) -> Response:
    """Run a failed or cancelled job again from its original upload, once per request id."""
    state = ui_state(request)
    if state.run_again is None:
        return JSONResponse({"ok": False, "message": "run again is not available here"}, status_code=501)
    body: Any = await request.json()
    request_id = str(body.get("request_id", "")) if isinstance(body, dict) else ""
    if not request_id:
        return JSONResponse({"ok": False, "message": "the request has no request_id"}, status_code=400)
    try:
        answer = await run_in_threadpool(
            state.run_again, state.flock, request.path_params["uuid"], request_id
        )
    except CliError as exc:
        return JSONResponse({"ok": False, "message": str(exc)}, status_code=409)
    return JSONResponse({"ok": True, **answer})


def routes() -> list[Route]:
    """Return the page's routes."""
    return [
        Route("/jobs/{uuid}", page),
        Route("/api/jobs/{uuid}/log", log),
        Route("/api/jobs/{uuid}/cancel", cancel, methods=["POST"]),
        Route("/api/jobs/{uuid}/run-again", run_again, methods=["POST"]),
    ]
