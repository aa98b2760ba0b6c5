"""What an ended job cost, for the Job page: `shepard cost`'s price book and formula, or why it has none."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from shepard_cli._cost_render import usd
from shepard_cli._cost_report import LEFT_OUT, JobCost, price_row
from shepard_core import GROUP_OF, RAN_GROUPS, JobRow

if TYPE_CHECKING:
    from shepard_cli._price_book import PriceBook


@dataclasses.dataclass(frozen=True)
class CostView:
    """One ended job's estimated cost as the page words it, or the reason it has none."""

    cost: JobCost

    @property
    def priced(self) -> bool:
        """Return whether the job has a price."""
        return self.cost.usd is not None

    @property
    def left_out(self) -> str:
        """Return what the estimate does not count."""
        return LEFT_OUT

    @property
    def amount(self) -> str:
        """Return the price as `shepard cost` prints it (`$0.001234`), or `unpriced: <reason>`."""
        if self.cost.usd is None:
            return f"unpriced: {self.cost.reason}"
        return usd(self.cost.usd)


def cost_view(row: JobRow, book: PriceBook) -> CostView | None:
    """Return the cost of a job that ran to its end (complete or failed), else None.

    A price lookup AWS refuses makes the job unpriced, with AWS's words as the reason.
    """
    if GROUP_OF[row.status] not in RAN_GROUPS:
        return None
    try:
        return CostView(price_row(row, book))
    except (ClientError, BotoCoreError) as exc:
        unpriced = JobCost(
            uuid=row.uuid,
            tag=None,
            group=GROUP_OF[row.status],
            usd=None,
            reason=f"the price lookup failed: {exc}",
            instance_type=row.instance_type,
        )
        return CostView(unpriced)
