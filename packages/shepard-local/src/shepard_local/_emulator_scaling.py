"""Keep the cost of each emulator request independent of how many jobs the flock has taken.

Several things in moto grow with the flock's history, each amended here as moto could upstream it:

- TransactWriteItems deep-copies every table it touches before it starts, to put the copy back if the
  transaction is cancelled: a scheduler claiming 100 jobs copied the whole job table (thousands of rows),
  under the lock every other DynamoDB call waits on, and left the copies' memory behind. Here the backend
  keeps only the rows the transaction names, and a cancelled transaction puts back just those rows.
- ReceiveMessage checks each message's retention by asking for the queue's attributes, which counts every
  message in the queue: receiving from a queue of n messages cost O(n) per message. Here the retention
  period is read from the queue directly.
- ListJobs of a queue listed every child of every array job as well, though Batch lists a queue's jobs
  (an array once) and an array's children only when asked with its arrayJobId: the executor, polling the
  queue twice a second, read thousands of children it never uses. Here a queue's listing leaves children
  out, as Batch's does.
- Every request looked up the backend by listing moto's package directory (a few hundred `stat` calls)
  under the server's one dispatch lock. Here that listing is read once.
- A query of a global secondary index walked and sorted every item of the table first
  (`_emulator_index_query`); it now starts from its partition's own items (`_emulator_partition_index`).
- Each ReceiveMessage and GetQueueAttributes read the clock once or twice per message waiting in the
  queue; a listing now reads it once (`_emulator_queue_clock`).
- Every model object moto ever made (each copy of a DynamoDB item, each SQS message) stayed in a list
  kept for its dashboard; it is now held weakly (`_emulator_tracking`).

The server's per-request access log (one line per call in moto.log, millions in a long run) is left out;
warnings and errors are still logged.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import types
from typing import TYPE_CHECKING, Any, Final

from shepard_local import (
    _emulator_index_query,
    _emulator_partition_index,
    _emulator_queue_clock,
    _emulator_tracking,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable

TRANSACTION_CALL: Final = "transact_write_items"
TRANSACTION_BACKUP_MARK: Final = "original_table_state"
"""The name moto's TransactWriteItems gives its whole-table backup; without it the amendment is wrong."""
RETENTION_CHECK: Final = "is_message_valid_based_on_retention_period"
RETENTION_CHECK_PARAMETERS: Final = ("self", "queue_name", "message")
MODULE_LISTING: Final = "list_of_moto_modules"
LIST_JOBS_PARAMETERS: Final = ("self", "job_queue_name", "array_job_id", "job_status", "filters")
WRITE_OPERATIONS: Final = ("Put", "Update", "Delete")


class EmulatorMismatchError(RuntimeError):
    """The installed moto lacks, or changed, a call this module amends."""


class _TablesKept(types.ModuleType):
    """The `copy` module as moto's DynamoDB backend sees it: a deep copy of a Table is the Table itself."""

    def __init__(self, table_type: type) -> None:
        """Stand in for `copy`, passing every object but a `table_type` to the real deepcopy."""
        super().__init__("copy")
        self._table_type = table_type
        self.copy = copy.copy

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:  # noqa: ANN401 - copy's own
        """Return `value` itself if it is a table, else a deep copy of it."""
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)


def _rows_written(backend: Any, transact_items: Iterable[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:  # noqa: ANN401 - moto's backend
    """Return (table, hash key, range key) of each row a transaction's Put, Update or Delete writes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    rows = []
    for item in transact_items:
        for operation, details in item.items():
            table = backend.tables.get(details.get("TableName")) if isinstance(details, dict) else None
            if operation not in WRITE_OPERATIONS or table is None:
                continue
            source = details.get("Item", {}) if operation == "Put" else details.get("Key", {})
            if table.hash_key_attr not in source or (
                table.range_key_attr and table.range_key_attr not in source
            ):
                continue  # moto refuses the transaction before it writes anything
            hash_key = DynamoType(source[table.hash_key_attr])
            range_key = DynamoType(source[table.range_key_attr]) if table.range_key_attr else None
            rows.append((table, hash_key, range_key))
    return rows


def _put_back(table: Any, hash_key: Any, range_key: Any, row: Any) -> None:  # noqa: ANN401 - moto's models
    """Make `table`'s row at the key `row` again (absent if None), as moto's Table stores rows."""
    if row is None:
        table.delete_item(hash_key, range_key)
    else:
        if range_key is not None:
            table.items[hash_key][range_key] = row
        else:
            table.items[hash_key] = row
        _emulator_partition_index.note_rewritten(table, (hash_key, range_key))


def journaled(transact: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    """Return `transact` that saves only the rows it writes and puts them back if it raises."""

    @functools.wraps(transact)
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> Any:  # noqa: ANN401 - moto's
        with lock:
            saved = [
                (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
                for table, hash_key, range_key in _rows_written(backend, transact_items)
            ]
            try:
                return transact(backend, transact_items)
            except Exception:
                for table, hash_key, range_key, row in reversed(saved):
                    _put_back(table, hash_key, range_key, row)
                raise

    return transact_write_items


def _retained(backend: Any, queue_name: str, message: Any) -> bool:  # noqa: ANN401 - moto's models
    """Return whether `message` is still within its queue's retention period (moto's check, in O(1))."""
    from moto.core.utils import unix_time

    period = int(backend.get_queue(queue_name).message_retention_period)
    return bool(period + message.sent_timestamp / 1000 > unix_time())


def queue_listing_without_children(list_jobs: Callable[..., Any]) -> Callable[..., Any]:
    """Return `list_jobs` that, listing a queue (not an array), leaves array children out as Batch does."""

    @functools.wraps(list_jobs)
    def listed(
        backend: Any,  # noqa: ANN401 - moto's backend
        job_queue_name: str | None,
        array_job_id: str | None,
        job_status: str | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> list[Any]:
        jobs = list_jobs(backend, job_queue_name, array_job_id, job_status, filters)
        if array_job_id:
            return list(jobs)
        return [job for job in jobs if "index" not in (getattr(job, "array_properties", None) or {})]

    return listed


def _amendable(found: object, shaped: Callable[[Any], bool], needed: str, why: str) -> Callable[..., Any]:
    """Return `found` if it is callable and `shaped` accepts it; else raise EmulatorMismatchError."""
    if not callable(found) or not shaped(found):
        raise EmulatorMismatchError(f"{needed} is not in the installed moto; {why}")
    return found


def _parameters(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)


def install(lock: threading.RLock) -> None:
    """Amend the installed moto's transactions, retention check and backend lookup; quiet its access log.

    `lock` is the one that serialises the DynamoDB backend's item calls: a transaction's saved rows are
    read and put back under it. Raise EmulatorMismatchError if moto no longer has what is amended.
    """
    from moto import backends
    from moto.batch.models import BatchBackend
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table
    from moto.sqs.models import SQSBackend

    transact = _amendable(
        getattr(dynamodb_models.DynamoDBBackend, TRANSACTION_CALL, None),
        lambda found: (
            getattr(dynamodb_models, "copy", None) is copy
            and TRANSACTION_BACKUP_MARK in inspect.getsource(found)
        ),
        f"DynamoDBBackend.{TRANSACTION_CALL} with its whole-table backup ({TRANSACTION_BACKUP_MARK})",
        "the local flock's transactions would copy the whole job table",
    )
    _amendable(
        getattr(SQSBackend, RETENTION_CHECK, None),
        lambda found: _parameters(found) == RETENTION_CHECK_PARAMETERS,
        f"SQSBackend.{RETENTION_CHECK}{RETENTION_CHECK_PARAMETERS}",
        "receiving from a long queue would count it once per message",
    )
    list_jobs = _amendable(
        getattr(BatchBackend, "list_jobs", None),
        lambda found: _parameters(found) == LIST_JOBS_PARAMETERS,
        f"BatchBackend.list_jobs{LIST_JOBS_PARAMETERS}",
        "listing the job queue would return every array child",
    )
    listing = _amendable(
        getattr(backends, MODULE_LISTING, None),
        lambda _found: True,
        f"moto.backends.{MODULE_LISTING}",
        "every request would list moto's package directory",
    )
    modules = tuple(listing())
    dynamodb_models.copy = _TablesKept(Table)  # type: ignore[attr-defined]
    setattr(dynamodb_models.DynamoDBBackend, TRANSACTION_CALL, journaled(transact, lock))
    setattr(SQSBackend, RETENTION_CHECK, _retained)
    BatchBackend.list_jobs = queue_listing_without_children(list_jobs)  # type: ignore[method-assign]
    setattr(backends, MODULE_LISTING, lambda: modules)
    try:
        _emulator_index_query.install()
        _emulator_tracking.install()
        _emulator_queue_clock.install()
    except RuntimeError as exc:
        raise EmulatorMismatchError(str(exc)) from None
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
