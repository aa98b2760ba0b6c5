"""The local flock's job table carries the list indexes and status counters of the real template."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from flock_testkit import SETTLED, Flock
from shepard_core import (
    GROUP_INDEX,
    GROUP_OF,
    LIST_GROUP,
    LIST_TAG,
    TAG_INDEX,
    JobStatus,
    StatusGroup,
    is_counter_key,
    parse_counter_items,
)


def counted_for(flock: Flock, tag: str) -> dict[StatusGroup, int]:
    """Return the status counters' non-zero counts of one TAG."""
    dynamodb = flock.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=flock.state.names.table):
        items += [item for item in page["Items"] if is_counter_key(item["UUID"]["S"])]
    return {group: n for group, n in parse_counter_items(items).tags.get(tag, {}).items() if n}


def query(flock: Flock, index: str, key: str, value: str) -> list[str]:
    """Return the UUIDs an index partition holds, newest first."""
    found = flock.client("dynamodb").query(
        TableName=flock.state.names.table,
        IndexName=index,
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": key},
        ExpressionAttributeValues={":v": {"S": value}},
        ScanIndexForward=False,
    )
    return [item["UUID"]["S"] for item in found["Items"]]


class TestCountsOnTheLocalFlock:
    def test_jobs_are_counted_by_tag_and_listed_by_both_indexes(self, flock: Flock):
        """Two jobs of one TAG (one completes, one fails): counted once each, and found through both GSIs."""
        # GIVEN two jobs of a TAG no other test uses
        tag = f"counts-{uuid.uuid4().hex[:8]}"
        keys = {f"counts/{tag}-ok.zip": {}, f"counts/{tag}-fail.zip": {"FAIL": "True"}}
        for key, extra in keys.items():
            flock.upload(key, {"QUICK_DEPLOY_DIRECTORY": "hello", "TAG": tag, **extra})

        # WHEN both have settled
        def settled() -> dict[str, dict[str, Any]] | None:
            rows = flock.rows_for(set(keys))
            return rows if len(rows) == 2 and all(r["JOB_STATUS"] in SETTLED for r in rows.values()) else None

        rows = flock.wait_for(settled, timeout=120, what="the two counted jobs to settle")

        # THEN the counters hold each job once, in the group its row is in
        groups = Counter(GROUP_OF[JobStatus(str(row["JOB_STATUS"]))] for row in rows.values())
        assert groups == Counter({StatusGroup.COMPLETE: 1, StatusGroup.FAILED: 1})
        assert counted_for(flock, tag) == dict(groups)
        # AND each row is in its group's partition of ByStatusGroup and its TAG's of ByTag
        for row in rows.values():
            job = str(row["UUID"])
            assert job in query(flock, GROUP_INDEX, LIST_GROUP, str(row[LIST_GROUP]))
            assert str(row[LIST_GROUP]).startswith(f"{GROUP_OF[JobStatus(str(row['JOB_STATUS']))].value}#")
            assert str(row[LIST_TAG]).startswith(f"{tag}#")
            assert job in query(flock, TAG_INDEX, LIST_TAG, str(row[LIST_TAG]))
