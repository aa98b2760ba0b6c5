"""The web app: its routes, its static files, its guard, and the server that runs it until Ctrl-C."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Final

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from shepard_ui._context import UiState, template_environment
from shepard_ui._security import TOKEN_PARAMETER, Guard, Secrets

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from shepard_ui._flock import Flock
    from shepard_ui._run_again import RunAgain

HOST: Final = "127.0.0.1"


def create_app(flock: Flock, secrets: Secrets, port: int, run_again: RunAgain | None = None) -> ASGIApp:
    """Return the guarded app serving `flock` on 127.0.0.1:`port`."""
    from shepard_ui._errors import exception_handlers
    from shepard_ui.pages import job, jobs, new_batch, overview, results

    routes = [
        *overview.routes(),
        *results.routes(),
        *job.routes(),
        *jobs.routes(),
        *new_batch.routes(),
        Mount("/static", StaticFiles(packages=[("shepard_ui", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    app.state.ui = UiState(
        flock=flock, secrets=secrets, templates=template_environment(), run_again=run_again
    )
    return Guard(app, secrets=secrets, port=port)


def bind(port: int) -> socket.socket:
    """Return a listening socket on 127.0.0.1:`port` (0: a free port the system picks)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def app_url(port: int, secrets: Secrets) -> str:
    """Return the URL to open: the server's address with its token."""
    return f"http://{HOST}:{port}/?{TOKEN_PARAMETER}={secrets.token}"


def serve(listener: socket.socket, app: ASGIApp) -> None:
    """Serve `app` on `listener` until Ctrl-C (or SIGTERM), then shut down cleanly."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
