"""Overview: counts per status group and TAG, progress, jobs per minute, ETA, newest problems, live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shepard_cli._errors import CliError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shepard_ui._context import render, ui_state

if TYPE_CHECKING:
    from starlette.requests import Request

    from shepard_ui._overview_view import OverviewFeed


def _feed(request: Request) -> OverviewFeed:
    from shepard_ui._overview_view import OverviewFeed

    extra = ui_state(request).extra
    if "overview" not in extra:
        extra["overview"] = OverviewFeed()
    feed: OverviewFeed = extra["overview"]
    return feed


async def page(request: Request) -> Response:
    """Render the Overview page with the figures of now; the page then refreshes them itself."""
    try:
        data = await run_in_threadpool(_feed(request).read, ui_state(request).flock)
    except CliError as exc:
        return render(request, "problem.html", status_code=503, title="Overview", error=exc)
    return render(request, "overview.html", data=data)


async def figures(request: Request) -> Response:
    """Return the overview's figures as JSON, for the page's live refresh."""
    data = await run_in_threadpool(_feed(request).read, ui_state(request).flock)
    return JSONResponse(data)


def routes() -> list[Route]:
    """Return the page's routes."""
    return [Route("/", page), Route("/api/overview", figures)]
