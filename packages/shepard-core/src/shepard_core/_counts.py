"""Sharded status counters and job-list keys: how a view counts and lists jobs without scanning the table.

Every write that moves a job row into a status group (its creation included) is one DynamoDB
transaction: the row's own conditional write, plus an `ADD` on one of COUNTER_SHARDS counter items
(picked at random, so no item is written more often than 1/COUNTER_SHARDS of the flock's rate). A count
therefore moves exactly when, and only when, the status write it counts succeeds: a refused condition,
a retried request or a duplicate delivery moves nothing. An overview reads the COUNTER_SHARDS items.

The same writes keep three list attributes on the row, the keys of two global secondary indexes:
LIST_GROUP (`<group>#<shard>`) and LIST_TAG (`<TAG>#<shard>`), each sorted by LIST_TIME
(`<created>#<UUID>`). Their shard is the row's own (a hash of its UUID, LIST_SHARDS of them), so a page of
the newest jobs of a group or TAG is a merge of LIST_SHARDS short queries.

The write that ends a job (its move to complete or failed) also ADDs its run time, in milliseconds, to a
usage counter keyed by what pricing needs (`usage:<instance type>|<capacity type>|<vCPUs>|<memory
MiB>|<TAG>`, each part with `%` and `|` percent-escaped) and one to that key's job count (`usage-jobs:`);
a job whose instance is not known adds to `unpriced:<TAG>` and `unpriced-jobs:<TAG>` instead. So the
spend so far is priced from the counter items alone.

Counter items are not job rows: their key starts with COUNTER_KEY_PREFIX and they have no JOB_STATUS.
Their counts are of every job recorded since the counters existed; a row's expiry (TTL) does not move them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from shepard_core._statuses import RAN_GROUPS, StatusGroup
from shepard_core._usage_counts import (
    TAG_CHARS,
    UsageKey,
    UsageSum,
    parse_usage_attribute,
    usage_deltas,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shepard_core._usage import JobUsage

COUNTER_SHARDS: Final = 32
"""Counter items; each takes 1/32 of the count writes (5,000 jobs/s x 3 moves -> ~470 writes/s each)."""

LIST_SHARDS: Final = 16
"""Partitions of each list index key, so no index key takes more than 1/16 of a group's or TAG's writes."""

COUNTER_KEY_PREFIX: Final = "shepard#counts#"
"""The UUID of a counter item starts with this; no job UUID can (job UUIDs are hex and dashes)."""

LIST_GROUP: Final = "SHEPARD_LIST_GROUP"
"""Row attribute `<status group>#<list shard>`: the partition key of GROUP_INDEX."""

LIST_TAG: Final = "SHEPARD_LIST_TAG"
"""Row attribute `<TAG>#<list shard>` (rows with a TAG only): the partition key of TAG_INDEX."""

LIST_TIME: Final = "SHEPARD_LIST_TIME"
"""Row attribute `<creation time, ISO 8601 UTC>#<UUID>`: the sort key of both indexes (newest last)."""

COUNTED_TAG_CHARS: Final = TAG_CHARS
"""A TAG is counted under its first 100 characters (a counter item holds ~1,500 TAGs' counts)."""

GROUP_INDEX: Final = "ByStatusGroup"
"""The global secondary index of job rows by status group, newest first when read backwards."""

TAG_INDEX: Final = "ByTag"
"""The global secondary index of job rows by TAG, newest first when read backwards."""

_GROUP_COUNT: Final = "count:"
_TAG_COUNT: Final = "tag:"


def counter_key(shard: int) -> str:
    """Return the UUID (table key) of counter item `shard` (0 <= shard < COUNTER_SHARDS)."""
    if not 0 <= shard < COUNTER_SHARDS:
        raise ValueError(f"counter shard {shard} is outside 0..{COUNTER_SHARDS - 1}")
    return f"{COUNTER_KEY_PREFIX}{shard:02d}"


def counter_keys() -> list[str]:
    """Return the keys of every counter item, in shard order (one BatchGetItem reads them all)."""
    return [counter_key(shard) for shard in range(COUNTER_SHARDS)]


def is_counter_key(key: str) -> bool:
    """Return whether a table key names a counter item rather than a job row."""
    return key.startswith(COUNTER_KEY_PREFIX)


def random_counter_shard(rng: random.Random | None = None) -> int:
    """Return a counter shard picked at random (a fresh one per transaction attempt)."""
    return (rng or random).randrange(COUNTER_SHARDS)


def list_shard(uuid: str) -> int:
    """Return the row's list shard: a stable hash of its UUID, 0 <= shard < LIST_SHARDS."""
    return hashlib.sha256(uuid.encode()).digest()[0] % LIST_SHARDS


def list_group_value(group: StatusGroup, uuid: str) -> str:
    """Return the row's LIST_GROUP value while it is in `group`."""
    return f"{group.value}#{list_shard(uuid):02d}"


def list_tag_value(tag: str, uuid: str) -> str:
    """Return the row's LIST_TAG value for its TAG."""
    return f"{tag}#{list_shard(uuid):02d}"


def list_time_value(created: str, uuid: str) -> str:
    """Return the row's LIST_TIME value: its creation time (ISO 8601 UTC) then its UUID."""
    return f"{created}#{uuid}"


def list_partitions(group_or_tag: str) -> list[str]:
    """Return every index partition key of one status group value or TAG (one per list shard)."""
    return [f"{group_or_tag}#{shard:02d}" for shard in range(LIST_SHARDS)]


def list_attributes(
    uuid: str, group: StatusGroup, created: str, tag: str | None
) -> dict[str, dict[str, str]]:
    """Return the list attributes a new row is written with, in DynamoDB's attribute-value form."""
    attributes = {
        LIST_GROUP: {"S": list_group_value(group, uuid)},
        LIST_TIME: {"S": list_time_value(created, uuid)},
    }
    if tag:
        attributes[LIST_TAG] = {"S": list_tag_value(tag, uuid)}
    return attributes


def group_count_attribute(group: StatusGroup) -> str:
    """Return the counter item attribute that counts the jobs in `group`."""
    return f"{_GROUP_COUNT}{group.value}"


def tag_count_attribute(tag: str, group: StatusGroup) -> str:
    """Return the counter item attribute that counts the jobs with `tag` in `group`."""
    return f"{_TAG_COUNT}{tag[:COUNTED_TAG_CHARS]}:{group.value}"


@dataclasses.dataclass(frozen=True)
class GroupMove:
    """One row's move between status groups: from `before` (None for a new row) to `after`."""

    before: StatusGroup | None
    after: StatusGroup
    tag: str | None = None
    usage: JobUsage | None = None
    """What the job used, when the move ends it (to complete or failed): its run time is counted."""

    @property
    def moves(self) -> bool:
        """Return whether the move changes any count (a new row, or a different group)."""
        return self.before != self.after


def count_deltas(moves: Iterable[GroupMove], *, with_tags: bool = True) -> dict[str, int]:
    """Return the net change of each counter attribute the `moves` make together (zeros left out)."""
    deltas: Counter[str] = Counter()
    for move in moves:
        if not move.moves:
            continue
        deltas[group_count_attribute(move.after)] += 1
        if move.before is not None:
            deltas[group_count_attribute(move.before)] -= 1
        if with_tags and move.tag:
            deltas[tag_count_attribute(move.tag, move.after)] += 1
            if move.before is not None:
                deltas[tag_count_attribute(move.tag, move.before)] -= 1
        if move.usage is not None and move.after in RAN_GROUPS:
            deltas.update(usage_deltas(move.usage, move.tag if with_tags else None))
    return {name: delta for name, delta in deltas.items() if delta}


def counter_action(table_name: str, deltas: Mapping[str, int], shard: int) -> dict[str, Any]:
    """Return the TransactWriteItems `Update` action that adds `deltas` to counter item `shard`."""
    if not deltas:
        raise ValueError("a counter action needs at least one non-zero delta")
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    clauses: list[str] = []
    for i, (attribute, delta) in enumerate(sorted(deltas.items())):
        names[f"#c{i}"] = attribute
        values[f":c{i}"] = {"N": str(delta)}
        clauses.append(f"#c{i} :c{i}")
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"UUID": {"S": counter_key(shard)}},
            "UpdateExpression": "ADD " + ", ".join(clauses),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


@dataclasses.dataclass(frozen=True)
class Counts:
    """The jobs per status group, in all and per TAG, summed over the counter items read."""

    groups: Mapping[StatusGroup, int]
    tags: Mapping[str, Mapping[StatusGroup, int]]
    items_read: int
    usage: Mapping[UsageKey, UsageSum] = dataclasses.field(default_factory=dict)
    """The run time and jobs of the ended jobs per pricing key (a key with instance_type None: unpriced)."""

    @property
    def total(self) -> int:
        """Return how many jobs the counters have recorded."""
        return sum(self.groups.values())


def parse_counter_items(items: Iterable[Mapping[str, Mapping[str, Any]]]) -> Counts:
    """Sum counter items (DynamoDB attribute-value form) into Counts; a negative sum shows as zero.

    A sum is negative only for rows written before the counters existed, which moved out of a group
    they were never counted in.
    """
    groups: Counter[StatusGroup] = Counter()
    tags: dict[str, Counter[StatusGroup]] = {}
    usage: dict[UsageKey, UsageSum] = {}
    known = {group.value: group for group in StatusGroup}
    read = 0
    for item in items:
        read += 1
        for name, value in item.items():
            if "N" not in value:
                continue
            number = int(value["N"])
            if name.startswith(_GROUP_COUNT):
                group = known.get(name.removeprefix(_GROUP_COUNT))
                if group is not None:
                    groups[group] += number
            elif name.startswith(_TAG_COUNT):
                tag, _, word = name.removeprefix(_TAG_COUNT).rpartition(":")
                group = known.get(word)
                if group is not None:
                    tags.setdefault(tag, Counter())[group] += number
            elif (parsed := parse_usage_attribute(name)) is not None:
                key, field = parsed
                usage[key] = usage.get(key, UsageSum()).plus(field, number)
    return Counts(
        groups={group: max(groups[group], 0) for group in StatusGroup},
        tags={
            tag: {group: max(counts[group], 0) for group in StatusGroup}
            for tag, counts in sorted(tags.items())
            if any(counts.values())
        },
        items_read=read,
        usage={key: total for key, total in usage.items() if total.jobs > 0 or total.run_ms > 0},
    )


def job_table_definition(table_name: str) -> dict[str, Any]:
    """Return the CreateTable arguments of the job table as the template makes it, list indexes included."""
    return {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": "UUID", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("UUID", LIST_GROUP, LIST_TAG, LIST_TIME)
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": key, "KeyType": "HASH"},
                    {"AttributeName": LIST_TIME, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, key in ((GROUP_INDEX, LIST_GROUP), (TAG_INDEX, LIST_TAG))
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
