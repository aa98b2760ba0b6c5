"""One transaction of row writes and the counter update they make: counts move only with the writes."""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

from shepard_core._aws_errors import CONDITION_FAILED_REASON, TRANSACTION_CANCELLED_ERROR, error_code
from shepard_core._counts import count_deltas, counter_action, random_counter_shard

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from shepard_core._counts import GroupMove

MAX_TRANSACTION_ACTIONS: Final = 100
"""DynamoDB's limit on actions per TransactWriteItems; the counter update takes one of them."""

DEFAULT_TRIES: Final = 10

_RETRIED_REASONS: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
_RETRIED_ERRORS: Final = frozenset(
    {"TransactionConflictException", "TransactionInProgressException", "ThrottlingException"}
)
_TOO_LARGE_REASON: Final = "ValidationError"


class TransactWriter(Protocol):
    """The part of a boto3 DynamoDB client a counted write needs."""

    def transact_write_items(self, **kwargs: Any) -> Any:  # noqa: ANN401 - boto3's own signature
        """Apply a transaction."""


class CountedWriteRefusedError(Exception):
    """One or more row actions' conditions were false: nothing was written and no count moved."""

    def __init__(self, refused: Mapping[int, Mapping[str, Any]]) -> None:
        """Keep each refused action's index and the row as it stood (when the action asked for it)."""
        self.refused = dict(refused)
        super().__init__(f"the condition of row action(s) {sorted(self.refused)} was false")


class CountedWriteGaveUpError(Exception):
    """The transaction kept conflicting with other writes (or being throttled) through every try."""


def transact_counted(  # noqa: PLR0913 - the client, what to write, and how to retry
    client: TransactWriter,
    table_name: str,
    row_actions: Sequence[Mapping[str, Any]],
    moves: Sequence[GroupMove],
    *,
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    tries: int = DEFAULT_TRIES,
) -> None:
    """Apply `row_actions` and the counter deltas of `moves` in one TransactWriteItems.

    Each try picks a fresh counter shard, so a conflict on one counter item is retried on another.
    A false row condition raises CountedWriteRefusedError (with every refused action). Should a
    counter item grow too large to take a new TAG, the write is retried counting the groups only: a
    job's status is never refused for the sake of a count by TAG.
    """
    if len(row_actions) >= MAX_TRANSACTION_ACTIONS:
        raise ValueError(f"at most {MAX_TRANSACTION_ACTIONS - 1} row actions fit beside the counter update")
    with_tags = True
    for attempt in range(tries):
        if attempt:
            sleep(min(0.02 * 2**attempt, 1.0) * (0.5 + (rng or random).random()))
        deltas = count_deltas(moves, with_tags=with_tags)
        counter = [counter_action(table_name, deltas, random_counter_shard(rng))] if deltas else []
        try:
            client.transact_write_items(TransactItems=[*row_actions, *counter])
        except Exception as exc:
            verdict = _verdict(exc, len(row_actions))
            if verdict == "too large" and with_tags:
                with_tags = False
                continue
            if verdict == "retry":
                continue
            raise
        return
    raise CountedWriteGaveUpError(
        f"a transaction of {len(row_actions)} row write(s) conflicted with other writes {tries} times"
    )


def _verdict(exc: Exception, row_count: int) -> str:
    """Return "retry", "too large" or "raise" for a failed transaction; raise CountedWriteRefusedError."""
    code = error_code(exc)
    if code in _RETRIED_ERRORS:
        return "retry"
    if code != TRANSACTION_CANCELLED_ERROR:
        return "raise"
    response: Any = getattr(exc, "response", {})
    reasons: list[Any] = list(response.get("CancellationReasons", []))
    refused = {
        i: dict(reason.get("Item", {}))
        for i, reason in enumerate(reasons[:row_count])
        if reason.get("Code") == CONDITION_FAILED_REASON
    }
    if refused:
        raise CountedWriteRefusedError(refused) from None
    codes = {reason.get("Code") for reason in reasons}
    if len(reasons) > row_count and reasons[row_count].get("Code") == _TOO_LARGE_REASON:
        return "too large"
    if codes & _RETRIED_REASONS:
        return "retry"
    return "raise"
