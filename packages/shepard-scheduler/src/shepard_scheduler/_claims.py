"""Array claims on job rows: many rows per DynamoDB call, every write conditional on the claim token.

Rows are created (and recorded) in transactions that also add the rows they create to the status
counters: a row refused for its condition is neither written nor counted.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from shepard_core import (
    CONDITION_FAILED_ERROR,
    Attr,
    CountedWriteGaveUpError,
    CountedWriteRefusedError,
    JobStatus,
    error_code,
    manifest_chunks,
)

from shepard_scheduler._rows import LEASE, counted_new_row, text_attribute, transact_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, WriteRequestTypeDef
    from shepard_core import GroupMove

    from shepard_scheduler._rows import Item

MAX_TRANSACTION_ITEMS: Final = 99
"""TransactWriteItems takes at most 100 actions; the status counter update takes one of them."""

MAX_TRANSACTION_BYTES: Final = 3 * 1024 * 1024
"""Our budget for one transaction's request, under DynamoDB's 4 MB aggregate item size."""

MAX_BATCH_WRITE_ITEMS: Final = 25
"""BatchWriteItem takes at most 25 put or delete requests."""

MAX_TRIES: Final = 6
"""How often a transaction cancelled for a reason other than a failed condition (a conflicting
concurrent write, throttling) or a BatchWriteItem with unprocessed items is tried in all."""


class ClaimError(Exception):
    """DynamoDB kept refusing some writes of a claim batch (throttled or in conflict) after every try."""


def _chunks(operations: Sequence[tuple[str, TransactWriteItemTypeDef]]) -> list[list[tuple[str, Any]]]:
    """Split transaction actions into lists DynamoDB accepts: ≤ 100 actions and ≤ the byte budget."""
    chunks: list[list[tuple[str, Any]]] = []
    current: list[tuple[str, Any]] = []
    size = 0
    for job_id, operation in operations:
        bytes_ = len(json.dumps(operation, ensure_ascii=False).encode("utf-8", errors="surrogatepass"))
        if current and (len(current) == MAX_TRANSACTION_ITEMS or size + bytes_ > MAX_TRANSACTION_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append((job_id, operation))
        size += bytes_
    if current:
        chunks.append(current)
    return chunks


class ClaimTable:
    """The job table seen by one array's claims: conditional writes in transactions and batches."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Act on `table_name` through `client`; `sleep` waits between retries of refused writes."""
        self._client = client
        self._table = table_name
        self._sleep = sleep

    def claim_new(self, rows: Sequence[Item], *, token: str, lease_until_ms: int) -> dict[str, Item]:
        """Create each row holding `token` and the lease, unless a row with its UUID exists.

        Returns the rows that already existed (as they stand), by UUID; every other row is created,
        with its list attributes, and counted in its status group.
        """
        operations: list[tuple[str, TransactWriteItemTypeDef]] = []
        moves: dict[str, GroupMove] = {}
        for row in rows:
            claimed: Any = {**row, Attr.ARRAY_CLAIM: {"S": token}, LEASE: {"N": str(lease_until_ms)}}
            item, move = counted_new_row(claimed)
            job_id = str(row[Attr.UUID]["S"])
            moves[job_id] = move
            put: Any = {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#uuid)",
                    "ExpressionAttributeNames": {"#uuid": Attr.UUID},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            operations.append((job_id, put))
        return self._transact(operations, moves)

    def reclaim(self, job_id: str, *, token: str, lease_until_ms: int, now_ms: int) -> Item | None:
        """Put `token` and our lease on a resumable row: no Batch job id, not started, no live lease.

        Returns None when the row is ours, else the row as it stands.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key={Attr.UUID: {"S": job_id}},
                UpdateExpression="SET #claim = :token, #lease = :mine REMOVE #index",
                ConditionExpression=(
                    "attribute_exists(#uuid) AND attribute_not_exists(#batch) AND #status = :waiting "
                    "AND (attribute_not_exists(#lease) OR #lease < :now)"
                ),
                ExpressionAttributeNames={
                    "#uuid": Attr.UUID,
                    "#batch": Attr.BATCH_JOB_ID,
                    "#status": Attr.JOB_STATUS,
                    "#lease": LEASE,
                    "#claim": Attr.ARRAY_CLAIM,
                    "#index": Attr.ARRAY_INDEX,
                },
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":mine": {"N": str(lease_until_ms)},
                    ":now": {"N": str(now_ms)},
                    ":waiting": {"S": JobStatus.NOT_YET_INITIATED.value},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED_ERROR:
                found: Any = exc.response.get("Item", {})
                return dict(found)
            raise
        return None

    def write_manifest(self, token: str, job_ids: list[str], *, end_time: int) -> None:
        """Write the manifest items of the array claimed by `token`: its job UUIDs in child-index order."""
        requests: list[WriteRequestTypeDef] = [
            {
                "PutRequest": {
                    "Item": {
                        Attr.UUID: {"S": key},
                        Attr.MANIFEST_JOBS: {"L": [{"S": job_id} for job_id in chunk]},
                        Attr.END_TIME: {"N": str(end_time)},
                    }
                }
            }
            for key, chunk in manifest_chunks(token, job_ids)
        ]
        for start in range(0, len(requests), MAX_BATCH_WRITE_ITEMS):
            pending = requests[start : start + MAX_BATCH_WRITE_ITEMS]
            for attempt in range(MAX_TRIES):
                if attempt:
                    self._sleep(0.05 * 2**attempt)
                response = self._client.batch_write_item(RequestItems={self._table: pending})
                unprocessed: Any = response.get("UnprocessedItems", {}).get(self._table, [])
                pending = list(unprocessed)
                if not pending:
                    break
            else:
                raise ClaimError(f"{len(pending)} manifest items of array {token} stayed unprocessed")

    def record(
        self, children: Sequence[tuple[str, str, int | None]], *, token: str, submit_time: str
    ) -> dict[str, Item]:
        """Record each (job UUID, Batch job id, index) on its row: status `submitted`, lease removed.

        A row is recorded only while it holds `token` and no worker has started it; the rows left
        alone are returned as they stand, by UUID. not_yet_initiated and submitted are one status
        group: recording moves no count.
        """
        operations: list[tuple[str, TransactWriteItemTypeDef]] = []
        for job_id, batch_job_id, index in children:
            names = {
                "#batch": Attr.BATCH_JOB_ID,
                "#submit": Attr.SUBMIT_TIME,
                "#status": Attr.JOB_STATUS,
                "#lease": LEASE,
                "#claim": Attr.ARRAY_CLAIM,
            }
            values: dict[str, Any] = {
                ":batch": {"S": batch_job_id},
                ":submit": {"S": submit_time},
                ":submitted": {"S": JobStatus.SUBMITTED.value},
                ":waiting": {"S": JobStatus.NOT_YET_INITIATED.value},
                ":token": {"S": token},
            }
            update = "SET #batch = :batch, #submit = :submit, #status = :submitted"
            if index is not None:
                names["#index"] = Attr.ARRAY_INDEX
                values[":index"] = {"N": str(index)}
                update += ", #index = :index"
            operation: Any = {
                "Update": {
                    "TableName": self._table,
                    "Key": {Attr.UUID: {"S": job_id}},
                    "UpdateExpression": f"{update} REMOVE #lease",
                    "ConditionExpression": (
                        "#claim = :token AND #status = :waiting AND attribute_not_exists(#batch)"
                    ),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            operations.append((job_id, operation))
        return self._transact(operations)

    def release(self, job_ids: Sequence[str], *, token: str) -> None:
        """Remove the lease from each row still claimed by `token`; best effort, never raises."""
        for job_id in job_ids:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key={Attr.UUID: {"S": job_id}},
                    UpdateExpression="REMOVE #lease",
                    ConditionExpression="#claim = :token AND attribute_not_exists(#batch)",
                    ExpressionAttributeNames={
                        "#lease": LEASE,
                        "#claim": Attr.ARRAY_CLAIM,
                        "#batch": Attr.BATCH_JOB_ID,
                    },
                    ExpressionAttributeValues={":token": {"S": token}},
                )
            except (ClientError, BotoCoreError):
                # The lease runs out by itself at the invocation's deadline.
                continue

    def _transact(
        self,
        operations: Sequence[tuple[str, TransactWriteItemTypeDef]],
        moves: Mapping[str, GroupMove] | None = None,
    ) -> dict[str, Item]:
        """Apply the actions in counted transactions; return the rows whose condition failed, by UUID.

        Each transaction also moves the counts of its rows' `moves` (by UUID). A transaction is all
        or nothing, so the actions whose condition failed are dropped and the rest is sent again,
        counting only the rows it still writes; other cancellations (a concurrent write to the same
        row or counter, throttling) are retried after a pause.
        """
        moves = moves or {}
        refused: dict[str, Item] = {}
        for chunk in _chunks(operations):
            remaining = chunk
            while remaining:
                try:
                    transact_rows(
                        self._client,
                        self._table,
                        [op for _, op in remaining],
                        [moves[job_id] for job_id, _ in remaining if job_id in moves],
                        sleep=self._sleep,
                        tries=MAX_TRIES,
                    )
                except CountedWriteRefusedError as exc:
                    for i, item in exc.refused.items():
                        refused[remaining[i][0]] = dict(item)
                    remaining = [op for i, op in enumerate(remaining) if i not in exc.refused]
                    continue
                except CountedWriteGaveUpError as exc:
                    raise ClaimError(f"transaction still cancelled after {MAX_TRIES} tries: {exc}") from exc
                break
        return refused


def claim_of(item: Item) -> str | None:
    """Return the claim token a row holds, or None."""
    return text_attribute(item, Attr.ARRAY_CLAIM)
