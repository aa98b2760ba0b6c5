"""A moto server (the local AWS endpoint) in a thread on 127.0.0.1, with its reset and config calls.

moto serves concurrent requests on threads but its DynamoDB backend is not safe across them: a
TransactWriteItems deep-copies each table it touches (to put it back if cancelled) while other requests
write to it ("dictionary changed size during iteration", or a cancelled transaction undoing another
request's write). DynamoDB isolates a transaction from other requests, so here, as in the local flock's
emulator (shepard_local._emulator), the item calls of moto's DynamoDB backend take one lock.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import urllib.request
from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

BATCH_WITHOUT_DOCKER: dict[str, Any] = {"batch": {"use_docker": False}}

DYNAMODB_ITEM_CALLS: Final = (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
    "transact_get_items",
    "batch_get_item",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
"""The methods of moto's DynamoDBBackend that read or write items: each holds the lock while it runs."""
_SERIALIZED: Final = "_shepard_testing_serialized"


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    """Return `method` made to hold `lock` while it runs."""

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - moto's own signatures
        with lock:
            return method(*args, **kwargs)

    return locked


def serialize_dynamodb() -> None:
    """Make the item calls of moto's DynamoDB backend (in this process) run one at a time; idempotent."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, _SERIALIZED, False):
        return
    missing = [name for name in DYNAMODB_ITEM_CALLS if not callable(getattr(DynamoDBBackend, name, None))]
    if missing:
        raise RuntimeError(f"moto's DynamoDBBackend has no {', '.join(missing)}: cannot serialize its calls")
    lock = threading.RLock()
    for name in DYNAMODB_ITEM_CALLS:
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name), lock))
    setattr(DynamoDBBackend, _SERIALIZED, True)


class MotoServer:
    """A moto server on a free port of 127.0.0.1; `url` is the endpoint to hand to boto3."""

    def __init__(self) -> None:
        """Start the server with its DynamoDB calls serialized (moto is imported here, not by the module)."""
        from moto.server import ThreadedMotoServer

        serialize_dynamodb()

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
