"""The door of the web app: Host check, the URL token and its cookie, CSRF checks, security headers.

Every request must name this server as 127.0.0.1:<port> or localhost:<port> in its Host header (a page
elsewhere that rebinds its DNS name to 127.0.0.1 is refused with 400) and carry the token printed with the
URL, as a query parameter or as the HttpOnly, SameSite=Strict cookie set on the first visit with it (else
403, as Jupyter does). A request that changes something (any method but GET and HEAD) must also send the
per-server CSRF token in a header, which only the app's own pages know, and must not come from another
site by its Origin or Sec-Fetch-Site headers.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from starlette.datastructures import URL, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_PARAMETER: Final = "token"  # noqa: S105 - the name of the query parameter, not a secret
CSRF_HEADER: Final = "x-csrf-token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD"})
LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost")
SAME_SITE_FETCHES: Final = frozenset({"same-origin", "none"})
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS: Final = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)


@dataclasses.dataclass(frozen=True)
class Secrets:
    """The two secrets of one server: the URL token (who may use it) and the CSRF token (which page asks)."""

    token: str
    csrf: str

    @classmethod
    def new(cls) -> Secrets:
        """Return fresh random secrets."""
        return cls(token=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))


def cookie_name(port: int) -> str:
    """Return the token cookie's name: one per port, since browsers share cookies across a host's ports."""
    return f"shepard_ui_{port}"


def allowed_hosts(port: int) -> frozenset[str]:
    """Return the Host header values this server answers to."""
    return frozenset(f"{name}:{port}" for name in LOOPBACK_NAMES)


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """ASGI middleware that refuses requests failing the Host, token or CSRF checks, and adds headers."""

    def __init__(self, app: ASGIApp, *, secrets: Secrets, port: int) -> None:
        """Guard `app`, served on 127.0.0.1:`port`, with these secrets."""
        self.app = app
        self.secrets = secrets
        self.port = port
        self.hosts = allowed_hosts(port)
        self.cookie = cookie_name(port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check an HTTP request, then pass it on with the security headers added to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self.refusal(request)
        if refusal is None and _same(request.query_params.get(TOKEN_PARAMETER), self.secrets.token):
            refusal = self._enter(request)
        if refusal is not None:
            await refusal(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    def refusal(self, request: Request) -> Response | None:
        """Return the response refusing `request`, or None when it may go through."""
        if request.headers.get("host", "").lower() not in self.hosts:
            return PlainTextResponse(
                f"Bad Host header: open this app as http://127.0.0.1:{self.port}/ "
                f"or http://localhost:{self.port}/",
                status_code=400,
            )
        has_token = _same(request.query_params.get(TOKEN_PARAMETER), self.secrets.token) or _same(
            request.cookies.get(self.cookie), self.secrets.token
        )
        if not has_token:
            return PlainTextResponse(
                "Forbidden: open the URL `shepard ui` printed (it holds this server's token).",
                status_code=403,
            )
        if request.method not in SAFE_METHODS:
            return self._cross_site_refusal(request)
        return None

    def _cross_site_refusal(self, request: Request) -> Response | None:
        origin = request.headers.get("origin")
        own_origins = {f"http://{host}" for host in self.hosts}
        fetch_site = request.headers.get("sec-fetch-site")
        if (origin is not None and origin not in own_origins) or (
            fetch_site is not None and fetch_site not in SAME_SITE_FETCHES
        ):
            return PlainTextResponse("Forbidden: a cross-site request.", status_code=403)
        if not _same(request.headers.get(CSRF_HEADER), self.secrets.csrf):
            return PlainTextResponse(
                "Forbidden: the request lacks this app's CSRF token; reload the page.", status_code=403
            )
        return None

    def _enter(self, request: Request) -> Response | None:
        """Set the token cookie; a page opened with the token in its URL is reloaded without it."""
        if request.method not in SAFE_METHODS:
            return None
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAMETER]
        target = URL(path=request.url.path, query=urlencode(kept))
        response = RedirectResponse(str(target), status_code=303)
        response.set_cookie(
            self.cookie, self.secrets.token, httponly=True, samesite="strict", path="/", secure=False
        )
        return response

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        return sending
