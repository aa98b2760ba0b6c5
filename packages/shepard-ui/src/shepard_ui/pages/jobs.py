"""Jobs: a table of jobs filtered by status, TAG, time and key prefix, newest first, one page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from shepard_cli._errors import CliError
from shepard_core import STATUS_WORDS
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from shepard_ui._context import render, ui_state
from shepard_ui._listing import JobQuery, job_page

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


def query_of(request: Request) -> JobQuery:
    """Return the Jobs page's query from the request's parameters."""
    params = request.query_params
    return JobQuery(
        statuses=tuple(word for word in params.getlist("status") if word),
        tag=params.get("tag", "").strip(),
        since=params.get("since", "").strip(),
        until=params.get("until", "").strip(),
        prefix=params.get("prefix", ""),
        cursor=params.get("cursor", ""),
    )


def next_link(query: JobQuery, cursor: str) -> str:
    """Return the link to the page after this one, keeping the filters."""
    params = [("status", word) for word in query.statuses]
    params += [
        (name, value) for name in ("tag", "since", "until", "prefix") if (value := getattr(query, name))
    ]
    return "/jobs?" + urlencode([*params, ("cursor", cursor)])


async def page(request: Request) -> Response:
    """Render one page of jobs, with the filter form and the link to the next page."""
    query = query_of(request)
    try:
        found = await run_in_threadpool(job_page, ui_state(request).flock, query)
    except CliError as exc:
        return render(request, "jobs.html", status_code=400, query=query, words=list(STATUS_WORDS),
                      rows=(), next_url=None, error=exc)  # fmt: skip
    next_url = next_link(query, found.next_cursor) if found.next_cursor else None
    return render(request, "jobs.html", query=query, words=list(STATUS_WORDS), rows=found.rows,
                  next_url=next_url, error=None)  # fmt: skip


def routes() -> list[Route]:
    """Return the page's routes."""
    return [Route("/jobs", page)]
