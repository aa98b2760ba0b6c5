"""Keep a query of a DynamoDB global secondary index from walking and sorting the whole table.

moto answers an index query by sorting every item of the table (comparing typed values, about 2 us a
comparison) and then comparing each item's index partition key with the one asked for: on the local
flock a `shepard watch` refresh (about 35 short queries of the job-list indexes) cost seconds at a few
thousand jobs and grew with the table. Here the items whose partition key attributes hold exactly the
values asked for (plain strings or bytes compared as such) are picked first, from the table's record of
its index partitions (`_emulator_partition_index`; a walk of the table when the query names no
recorded partition), and of those the ones that
meet the key condition on the index's sort key (moto's own comparison); moto's own query then runs
over them alone: it sorts, pages, limits and filters them as before, so its answers are the same. A
job-list page "older than five minutes" no longer sorts and sizes every newer row of its partition.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Final

from shepard_local import _emulator_partition_index

if TYPE_CHECKING:
    from collections.abc import Callable

QUERY_PARAMETERS: Final = (
    "index_name",
    "hash_key_conditions",
    "range_comparison",
    "range_objs",
    "range_key_conditions",
)
"""The parameters of moto's Table.query this amendment reads (by name)."""
_PLAIN_TYPES: Final = frozenset({"S", "B"})


def _matching_items(table: Any, conditions: list[tuple[str, Any]]) -> list[Any]:  # noqa: ANN401 - moto's
    """Return the table's items whose attributes equal every (name, DynamoType) condition, unsorted."""
    return [
        item
        for stored in table.items.values()
        for item in (stored.values() if table.range_key_attr else (stored,))
        if _emulator_partition_index.meets(item, conditions)
    ]


def _within_range(items: list[Any], name: str, comparison: str, objects: list[Any]) -> list[Any]:
    """Return the items whose `name` attribute meets the sort key condition, as moto's query tests it."""
    return [item for item in items if (value := item.attrs.get(name)) and value.compare(comparison, objects)]


def from_matching_items(query: Callable[..., Any]) -> Callable[..., Any]:
    """Return moto's Table.query, run over only the items an index query's partition key can match."""
    signature = inspect.signature(query)

    @functools.wraps(query)
    def amended(self: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - moto's own
        arguments = signature.bind(self, *args, **kwargs).arguments
        conditions = arguments.get("hash_key_conditions") or []
        if not arguments.get("index_name") or not conditions:
            return query(self, *args, **kwargs)
        if any(getattr(wanted, "type", None) not in _PLAIN_TYPES for _, wanted in conditions):
            return query(self, *args, **kwargs)
        matching = _emulator_partition_index.partition_items(self, conditions)
        if matching is None:
            matching = _matching_items(self, conditions)
        range_conditions = arguments.get("range_key_conditions") or []
        if arguments.get("range_comparison") and range_conditions:
            # moto tests this condition on the last sort key named, after sorting: the items that fail it
            # are never results, so leaving them out first changes no answer, page or start key.
            name = range_conditions[-1][0]
            matching = _within_range(matching, name, arguments["range_comparison"], arguments["range_objs"])
        self.all_items = lambda: matching  # this call's candidates; the class's method is back after it
        try:
            return query(self, *args, **kwargs)
        finally:
            del self.all_items

    return amended


def install() -> None:
    """Amend moto's Table.query; raise RuntimeError if it no longer takes the parameters read here."""
    from moto.dynamodb.models.table import Table

    parameters = tuple(inspect.signature(Table.query).parameters)
    if not set(QUERY_PARAMETERS) <= set(parameters) or "all_items" not in vars(Table):
        raise RuntimeError(
            f"moto's Table.query no longer takes {QUERY_PARAMETERS} or reads Table.all_items; "
            "index queries would walk the whole table"
        )
    _emulator_partition_index.install()
    Table.query = from_matching_items(Table.query)  # type: ignore[method-assign]
