"""The oldest jobs a filter selects and how many it selects, in one short query per list partition.

Each partition of the filter is read oldest first, up to its share of the count asked for, keeping only
the attributes asked for: the union holds the oldest jobs of every partition, so the oldest of all are
among them, and the items each query read count the jobs. A partition with more than its share makes
the count a floor. `watch` lists the jobs waiting longest for AWS Batch this way, and counts them.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from shepard_core import LIST_TIME, Attr

from shepard_cli._index_merge import QUERY_THREADS, Window, is_job_item, job_rows, key_condition, list_time
from shepard_cli._job_pages import index_spec, list_moment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from shepard_core import JobRow

    from shepard_cli._job_pages import JobFilter

WAIT_ATTRIBUTES: Final = (Attr.UUID, Attr.JOB_STATUS, Attr.BATCH_JOB_ID, Attr.SUBMIT_TIME, Attr.START_TIME)
"""What a long wait needs of a row."""


@dataclasses.dataclass(frozen=True)
class OldestJobs:
    """The oldest jobs (oldest first) and how many the filter selects: exact, or at least `total` (`more`)."""

    rows: tuple[JobRow, ...]
    total: int
    more: bool
    items_read: int


def oldest_jobs(  # noqa: PLR0913 - where to read, what, and how much
    client: DynamoDBClient,
    table_name: str,
    job_filter: JobFilter,
    *,
    count: int,
    most: int,
    attributes: Sequence[str] = WAIT_ATTRIBUTES,
) -> OldestJobs:
    """Return the `count` oldest jobs of a filter (only `attributes`) and how many it selects.

    One query per partition reads at most max(`count`, its share of `most`) items, all at once.
    """
    spec, partitions = index_spec(job_filter)
    window = Window(list_moment(job_filter.since), list_moment(job_filter.until))
    if window.empty or not partitions:
        return OldestJobs(rows=(), total=0, more=False, items_read=0)
    share = max(count, -(-most // len(partitions)))
    projected = {f"#p{n}": name for n, name in enumerate(dict.fromkeys([*attributes, LIST_TIME]))}

    def read(partition: str) -> dict[str, Any]:
        request = key_condition(spec, partition, window)
        request["ExpressionAttributeNames"] = {**request["ExpressionAttributeNames"], **projected}
        request |= {
            "TableName": table_name,
            "IndexName": spec.index,
            "ScanIndexForward": True,
            "Limit": share,
            "ProjectionExpression": ", ".join(projected),
        }
        if spec.filter_expression:
            request["FilterExpression"] = spec.filter_expression
        return dict(client.query(**request))

    with ThreadPoolExecutor(max_workers=min(QUERY_THREADS, len(partitions))) as pool:
        answers = list(pool.map(read, partitions))
    upper = window.upper
    items = [
        item
        for answer in answers
        for item in answer.get("Items", [])
        if is_job_item(item) and (upper is None or list_time(item) < upper)
    ]
    # Past the last item a cut-off partition read, it may hold older jobs than the other partitions'
    # later ones: only what comes before every such point is surely among the oldest.
    cut = [list_time(answer["LastEvaluatedKey"]) for answer in answers if answer.get("LastEvaluatedKey")]
    certain = sorted(
        (item for item in items if not cut or list_time(item) <= min(cut)),
        key=lambda item: (list_time(item), str(item.get(Attr.UUID, {}).get("S", ""))),
    )
    return OldestJobs(
        rows=job_rows(certain[:count]),
        total=sum(int(answer.get("Count", 0)) for answer in answers),
        more=bool(cut),
        items_read=sum(int(answer.get("ScannedCount", 0)) for answer in answers),
    )
