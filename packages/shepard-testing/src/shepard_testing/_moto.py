"""A moto server (the local AWS endpoint) in a thread on 127.0.0.1, with its reset and config calls."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from types import TracebackType

BATCH_WITHOUT_DOCKER: dict[str, Any] = {"batch": {"use_docker": False}}


class MotoServer:
    """A moto server on a free port of 127.0.0.1; `url` is the endpoint to hand to boto3."""

    def __init__(self) -> None:
        """Start the server (moto is imported here, so importing this module needs no moto)."""
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def _post(self, path: str, settings: dict[str, Any] | None = None) -> None:
        data = None if settings is None else json.dumps(settings).encode()
        headers = {} if data is None else {"Content-Type": "application/json"}
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
            f"{self.url}{path}", data=data, method="POST", headers=headers
        )
        urllib.request.urlopen(request).close()  # noqa: S310

    def reset(self) -> None:
        """Forget every resource made so far."""
        self._post("/moto-api/reset")

    def configure(self, settings: dict[str, Any]) -> None:
        """Apply moto's runtime configuration, for example `BATCH_WITHOUT_DOCKER`."""
        self._post("/moto-api/config", settings)

    def fresh(self) -> str:
        """Reset the server, make Batch jobs skip Docker, and return its URL."""
        self.reset()
        self.configure(BATCH_WITHOUT_DOCKER)
        return self.url

    def stop(self) -> None:
        """Stop the server thread."""
        self._server.stop()

    def __enter__(self) -> Self:
        """Return the running server."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()
