"""Keep, per DynamoDB table in the emulator, which items each global secondary index partition holds.

moto finds an index partition's items by walking every item of the table, once per query: a
`shepard watch` refresh (about 40 queries of 16 list partitions each) walked the whole job table 40
times, and at 10,000 jobs that walk was a fifth of the emulator's time while watch ran. Here each
table keeps the keys of its items by the value of every attribute an index partitions on, so a query
starts from its partition's own items.

The record is made from the whole table the first time a table is queried by an index, and then kept
up to date where moto writes items: `Table.put_item`, `Table.delete_item`, `DynamoDBBackend.update_item`
(which changes a stored item in place) and a cancelled transaction's rows put back (`note_rewritten`).
A key found there is still checked against the stored item, so a stale one is never an answer.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

PLAIN_TYPES: Final = frozenset({"S", "B"})
"""The attribute types whose stored value is compared as it is (a number's text is not: 1 = 1.0)."""
_RECORD: Final = "_shepard_partition_index"

TableKey: TypeAlias = tuple[Any, Any]
"""A stored item's (hash key, range key or None), as moto's DynamoType values."""
Partition: TypeAlias = tuple[str, str, Any]
"""(attribute name, DynamoDB type, value) of one index partition."""


def partition_attributes(table: Any) -> frozenset[str]:  # noqa: ANN401 - moto's Table
    """Return the attributes the table's global secondary indexes partition on."""
    return frozenset(
        key["AttributeName"]
        for index in table.global_indexes or ()
        for key in index.schema
        if key["KeyType"] == "HASH"
    )


def stored_item(table: Any, key: TableKey) -> Any:  # noqa: ANN401 - moto's Table and Item
    """Return the item the table stores under `key`, or None."""
    hash_key, range_key = key
    stored = table.items.get(hash_key)
    if stored is None or range_key is None:
        return stored
    return stored.get(range_key)


def _stored_items(table: Any) -> Iterator[tuple[TableKey, Any]]:  # noqa: ANN401 - moto's Table
    for hash_key, stored in table.items.items():
        if table.range_key_attr:
            for range_key, item in stored.items():
                yield (hash_key, range_key), item
        else:
            yield (hash_key, None), stored


class PartitionIndex:
    """The keys of a table's items by each (attribute, type, value) an index partitions on."""

    def __init__(self, table: Any) -> None:  # noqa: ANN401 - moto's Table
        """Record every item of `table` now."""
        self.attributes = partition_attributes(table)
        self._keys: dict[Partition, dict[TableKey, None]] = {}
        self._partitions_of: dict[TableKey, tuple[Partition, ...]] = {}
        for key, item in _stored_items(table):
            self.update(key, item)

    def _partitions(self, item: Any) -> tuple[Partition, ...]:  # noqa: ANN401 - moto's Item
        found = []
        for name in self.attributes:
            value = item.attrs.get(name)
            if value is not None and value.type in PLAIN_TYPES:
                found.append((name, value.type, value.value))
        return tuple(found)

    def update(self, key: TableKey, item: Any) -> None:  # noqa: ANN401 - moto's Item
        """Record the partitions the item now stored under `key` is in (none when `item` is None)."""
        for partition in self._partitions_of.pop(key, ()):
            keys = self._keys[partition]
            del keys[key]
            if not keys:
                del self._keys[partition]
        partitions = () if item is None else self._partitions(item)
        if partitions:
            self._partitions_of[key] = partitions
            for partition in partitions:
                self._keys.setdefault(partition, {})[key] = None

    def keys(self, partition: Partition) -> list[TableKey]:
        """Return the keys of the items recorded in `partition`."""
        return list(self._keys.get(partition, ()))


def index_of(table: Any) -> PartitionIndex:  # noqa: ANN401 - moto's Table
    """Return the table's partition record, made from the whole table when it has none or new indexes."""
    index = vars(table).get(_RECORD)
    if not isinstance(index, PartitionIndex) or index.attributes != partition_attributes(table):
        index = PartitionIndex(table)
        setattr(table, _RECORD, index)
    return index


def note_rewritten(table: Any, key: TableKey) -> None:  # noqa: ANN401 - moto's Table
    """Record what the table now stores under `key` (nothing to do before its first index query)."""
    index = vars(table).get(_RECORD)
    if isinstance(index, PartitionIndex):
        index.update(key, stored_item(table, key))


def meets(item: Any, conditions: Sequence[tuple[str, Any]]) -> bool:  # noqa: ANN401 - moto's Item
    """Return whether the item's attributes equal every (name, DynamoType) condition, type and value."""
    return all(
        (value := item.attrs.get(name)) is not None
        and value.type == wanted.type
        and value.value == wanted.value
        for name, wanted in conditions
    )


def partition_items(table: Any, conditions: Sequence[tuple[str, Any]]) -> list[Any] | None:  # noqa: ANN401 - moto's
    """Return the items meeting every (name, DynamoType) equality; None if none names a recorded partition."""
    index = index_of(table)
    chosen = next(
        (
            (name, wanted.type, wanted.value)
            for name, wanted in conditions
            if name in index.attributes and wanted.type in PLAIN_TYPES
        ),
        None,
    )
    if chosen is None:
        return None
    found = []
    for key in index.keys(chosen):
        item = stored_item(table, key)
        if item is not None and meets(item, conditions):
            found.append(item)
    return found


def recording_puts(put: Callable[..., Any]) -> Callable[..., Any]:
    """Return moto's Table.put_item that records the item it stored."""

    @functools.wraps(put)
    def put_item(table: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - moto's own
        item = put(table, *args, **kwargs)
        note_rewritten(table, (item.hash_key, item.range_key))
        return item

    return put_item


def recording_deletes(delete: Callable[..., Any]) -> Callable[..., Any]:
    """Return moto's Table.delete_item that records the key as empty."""

    @functools.wraps(delete)
    def delete_item(table: Any, hash_key: Any, range_key: Any) -> Any:  # noqa: ANN401 - moto's own
        try:
            return delete(table, hash_key, range_key)
        finally:
            note_rewritten(table, (hash_key, range_key))

    return delete_item


def recording_updates(update: Callable[..., Any]) -> Callable[..., Any]:
    """Return moto's DynamoDBBackend.update_item that records the item it changed, even if it then raised."""

    @functools.wraps(update)
    def update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - moto's own
        try:
            return update(backend, table_name, key, *args, **kwargs)
        finally:
            table = backend.tables.get(table_name)
            if table is not None:
                with contextlib.suppress(Exception):  # a key moto refuses is one it wrote nothing under
                    note_rewritten(table, backend.get_keys_value(table, key))

    return update_item


def install() -> None:
    """Amend moto's item writes to keep each table's partition record; RuntimeError if moto changed them."""
    import inspect

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    shapes: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
        "Table.put_item": (Table.put_item, ("self", "item_attrs")),
        "Table.delete_item": (Table.delete_item, ("self", "hash_key", "range_key")),
        "DynamoDBBackend.update_item": (DynamoDBBackend.update_item, ("self", "table_name", "key")),
    }
    for name, (function, leading) in shapes.items():
        if tuple(inspect.signature(function).parameters)[: len(leading)] != leading:
            raise RuntimeError(f"moto's {name} no longer takes {leading}; index queries would miss writes")
    if not hasattr(DynamoDBBackend, "get_keys_value"):
        raise RuntimeError("moto's DynamoDBBackend.get_keys_value is gone; index queries would miss updates")
    Table.put_item = recording_puts(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = recording_deletes(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = recording_updates(DynamoDBBackend.update_item)  # type: ignore[method-assign]
