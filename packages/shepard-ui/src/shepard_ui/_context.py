"""What every page handler reaches through the request: the flock, the secrets, the templates."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from shepard_ui._flock import Flock
    from shepard_ui._run_again import RunAgain
    from shepard_ui._security import Secrets


def template_environment() -> jinja2.Environment:
    """Return the Jinja2 environment of the package's templates, escaping every value it renders."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("shepard_ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@dataclasses.dataclass
class UiState:
    """The app's shared state: the flock, the server's secrets, the templates, the run-again function."""

    flock: Flock
    secrets: Secrets
    templates: jinja2.Environment
    run_again: RunAgain | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def ui_state(request: Request) -> UiState:
    """Return the app's state from a request."""
    state: UiState = request.app.state.ui
    return state


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:  # noqa: ANN401
    """Render template `name` with the page's common values (flock, CSRF token) and `context`."""
    from starlette.responses import HTMLResponse

    state = ui_state(request)
    template = state.templates.get_template(name)
    body = template.render(
        request=request, names=state.flock.names, csrf=state.secrets.csrf, path=request.url.path, **context
    )
    return HTMLResponse(body, status_code=status_code)
