"""Run the AWS emulator (moto's server) with S3 events and DynamoDB transactions that behave as AWS's do.

moto's S3 events carry neither the object's `versionId` nor a `sequencer`, so two uploads of the same bytes
to one key arrive as one event delivered twice and the scheduler rightly makes one job of them. On AWS each
upload is its own event: a versioned bucket names the new version, and every event has a sequencer that
grows with each write of a key. This module adds both fields to the events moto builds, per stored object
version.

moto sends two events for one multipart upload (Put, then CompleteMultipartUpload) about the same stored
object; both get that object's version id and sequencer, so they stay one job, as the one event AWS sends.

moto's TransactWriteItems copies each table it touches and, when any condition fails, puts the copy back:
every write another request made to that table meanwhile is lost (a worker's claim, a job's final
status). DynamoDB isolates a transaction from other requests, so here the table calls of moto's DynamoDB
backend take one lock: no request reads or writes a table while a transaction is open on it.

`shepard_local._emulator_scaling` keeps each request's cost from growing with the flock's history (a
transaction saves only the rows it writes, not the whole table).

Then it runs moto's own server: `python -m shepard_local._emulator -H HOST -p PORT`.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from shepard_local import _emulator_scaling
from shepard_local._emulator_scaling import EmulatorMismatchError

if TYPE_CHECKING:
    from collections.abc import Callable

DYNAMODB_TABLE_CALLS: Final = (
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
LISTEN_BACKLOG: Final = 4096
"""The connections the emulator's server lets wait to be accepted (Linux's default somaxconn)."""
EVENT_BUILDER: Final = "_get_s3_event"
EVENT_BUILDER_PARAMETERS: Final = ("event_name", "bucket", "key", "notification_id")
_SEQUENCER_ATTRIBUTE: Final = "_shepard_event_sequencer"


class _Sequencers:
    """Hand out one sequencer per stored object: 16 hex digits that only ever grow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def of(self, stored: object) -> str:
        """Return `stored`'s sequencer, making one the first time that object is asked about."""
        with self._lock:
            # A copied object (moto deep-copies keys) carries its source's attribute: the id tells them apart.
            known = getattr(stored, _SEQUENCER_ATTRIBUTE, None)
            if isinstance(known, tuple) and known[0] == id(stored):
                return str(known[1])
            self._last = max(self._last + 1, time.time_ns())
            sequencer = f"{self._last:016X}"
            setattr(stored, _SEQUENCER_ATTRIBUTE, (id(stored), sequencer))
            return sequencer


def identify_uploads(build: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Wrap moto's S3 event builder so each record names its object's version id (if any) and sequencer."""
    sequencers = _Sequencers()

    def build_identified(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:  # noqa: ANN401 - moto's models
        event = build(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            obj = record["s3"]["object"]
            version_id = getattr(key, "version_id", None)
            if version_id and version_id != "null":
                obj["versionId"] = str(version_id)
            obj["sequencer"] = sequencers.of(key)
        return event

    return build_identified


def serialized(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    """Return `method` made to hold `lock` while it runs."""

    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - moto's own signatures
        with lock:
            return method(*args, **kwargs)

    return locked


def install() -> None:
    """Amend the installed moto (S3 events, DynamoDB isolation, per-request costs that grow with history).

    Raise EmulatorMismatchError, before amending anything, if moto changed what is amended.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3 import notifications

    build = getattr(notifications, EVENT_BUILDER, None)
    if build is None or tuple(inspect.signature(build).parameters) != EVENT_BUILDER_PARAMETERS:
        raise EmulatorMismatchError(
            f"moto.s3.notifications.{EVENT_BUILDER}{EVENT_BUILDER_PARAMETERS} is not in the installed moto;"
            " the local flock cannot tell two uploads of the same bytes apart without it"
        )
    missing = [name for name in DYNAMODB_TABLE_CALLS if not callable(getattr(DynamoDBBackend, name, None))]
    if missing:
        raise EmulatorMismatchError(
            f"moto's DynamoDBBackend has no {', '.join(missing)}; the local flock cannot keep its"
            " transactions from undoing other requests' writes without them"
        )
    lock = threading.RLock()
    _emulator_scaling.install(lock)
    setattr(notifications, EVENT_BUILDER, identify_uploads(build))
    for name in DYNAMODB_TABLE_CALLS:
        setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name), lock))


def deepen_listen_queue(backlog: int = LISTEN_BACKLOG) -> None:
    """Have werkzeug's server (moto's) queue up to `backlog` connections not yet accepted, not 128.

    That server closes every connection after its response, so each AWS call of the flock is a new TCP
    connection: about a hundred a second on a busy flock. Its one accepting thread competes for the
    interpreter with the request threads, and a burst beyond 128 waiting connections overflowed the
    queue: the kernel dropped those connection requests and each client tried again a second later (a
    `watch` refresh, a worker's step or a scheduler call stalled for 1 s). The kernel caps `backlog` at
    net.core.somaxconn.
    """
    from werkzeug import serving

    serving.BaseWSGIServer.request_queue_size = backlog


def main(argv: list[str] | None = None) -> None:
    """Start moto's server (same arguments as `python -m moto.server`) with identified upload events."""
    from moto.server import main as moto_main

    try:
        install()
    except EmulatorMismatchError as exc:
        sys.exit(f"shepard local: {exc}")
    deepen_listen_queue()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
