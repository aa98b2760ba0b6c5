"""How failures reach the browser: a user's mistake or an AWS refusal in one sentence, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from starlette.requests import Request


async def _explained(request: Request, exc: Exception) -> Response:
    from shepard_cli._errors import explain

    message = explain(exc) or f"unexpected error: {type(exc).__name__}"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"ok": False, "message": message}, status_code=502)
    return PlainTextResponse(message, status_code=502)


def exception_handlers() -> dict[Any, Any]:
    """Return the app's handlers: CliError and AWS client errors become one-line answers."""
    import botocore.exceptions
    from shepard_cli._errors import CliError

    return {CliError: _explained, botocore.exceptions.BotoCoreError: _explained,
            botocore.exceptions.ClientError: _explained}  # fmt: skip
