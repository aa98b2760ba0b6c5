"""The flock's front door: the batching endpoint, the executor's controls, and every other AWS call proxied.

The CLI reaches every service through one endpoint URL. This server answers Lambda's Invoke API for the
batching endpoint itself (the emulator could only run a Lambda function inside Docker) and forwards
every other request, unchanged, to the emulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import logging
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

from shepard_flock import LambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

    from shepard_local._executor import Executor

INVOKE_PATH: Final = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
RECLAIM_PATH: Final = re.compile(r"^/local/jobs/(?P<job>[^/]+)/reclaim$")
HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)
UPSTREAM_TIMEOUT_SECONDS: Final = 300
LISTEN_BACKLOG: Final = 4096
"""The connections that may wait to be accepted (the kernel caps it at net.core.somaxconn)."""

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Routes:
    """What the server answers itself: the endpoint function, the executor and the runner's counters."""

    function_name: str
    endpoint: Callable[[dict[str, Any], Any], Any]
    executor: Executor
    stats: Callable[[], dict[str, Any]]
    region: str
    upstream: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's 5 made a burst of new connections (watch reads about 30 partitions at once) lose
    # some to the kernel, each one retried by its client a second later.
    request_queue_size = LISTEN_BACKLOG
    routes: Routes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the stdlib's signature
        log.debug(format, *args)

    def do_GET(self) -> None:
        routes = self.server.routes
        if self.path == "/local/health":
            self._reply(200, {"ok": True})
        elif self.path == "/local/jobs":
            self._reply(200, {"jobs": routes.executor.jobs()})
        elif self.path == "/local/stats":
            self._reply(200, routes.stats())
        else:
            self._forward()

    def do_POST(self) -> None:
        routes = self.server.routes
        path = self.path.split("?", 1)[0]
        invoke = INVOKE_PATH.match(path)
        if invoke and urllib.parse.unquote(invoke["name"]).rsplit(":", 1)[-1] == routes.function_name:
            self._invoke(self._body())
        elif reclaim := RECLAIM_PATH.match(path):
            self._body()
            found = routes.executor.reclaim(reclaim["job"])
            self._reply(200 if found else 404, {"reclaimed": found})
        else:
            self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def _body(self) -> bytes:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
            pass
        return b"".join(chunks)

    def _invoke(self, body: bytes) -> None:
        routes = self.server.routes
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            # Lambda refuses a payload that is not JSON before the function runs.
            self._reply(
                400,
                {"Type": "User", "message": "Could not parse request body into json"},
                {"x-amzn-ErrorType": "InvalidRequestContentException"},
            )
            return
        try:
            result = routes.endpoint(event, LambdaContext(routes.function_name, region=routes.region))
        except Exception as exc:
            log.exception("the batching endpoint raised")
            self._reply(
                200,
                {"errorMessage": str(exc), "errorType": type(exc).__name__},
                {"X-Amz-Function-Error": "Unhandled"},
            )
            return
        self._reply(200, result, {"X-Amz-Executed-Version": "$LATEST"})

    def _forward(self) -> None:
        body = self._body()
        upstream = urllib.parse.urlsplit(self.server.routes.upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {*HOP_BY_HOP, "expect"}}
        headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(
            upstream.hostname or "127.0.0.1", upstream.port or 80, timeout=UPSTREAM_TIMEOUT_SECONDS
        )
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            self._reply(502, {"message": f"the AWS emulator did not answer: {exc}"})
            return
        finally:
            connection.close()
        data = self._adjust(body, response.status, data)
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _adjust(self, body: bytes, status: int, data: bytes) -> bytes:
        # The emulator's Batch marks every job SUCCEEDED at once; the executor knows the real state,
        # and a terminated or cancelled job must stop running there too.
        path = self.path.split("?", 1)[0]
        executor = self.server.routes.executor
        if status == 200 and path in {"/v1/terminatejob", "/v1/canceljob"}:  # noqa: PLR2004
            with contextlib.suppress(ValueError, AttributeError):
                request = json.loads(body or b"{}")
                job, reason = str(request.get("jobId", "")), str(request.get("reason", ""))
                if path == "/v1/canceljob":
                    executor.cancel(job, reason)
                else:
                    executor.terminate(job, reason)
        if status == 200 and path == "/v1/describejobs":  # noqa: PLR2004
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                document = json.loads(data)
                document["jobs"] = [executor.overlay(job) for job in document.get("jobs", [])]
                return json.dumps(document).encode()
        return data

    def _reply(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FlockServer:
    """Serve the batching endpoint under Lambda's Invoke path, `/local/...`, and proxy the rest."""

    def __init__(self, routes: Routes, port: int = 0) -> None:
        """Bind 127.0.0.1:`port` (0 picks a free port)."""
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.routes = routes
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="flock-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()
