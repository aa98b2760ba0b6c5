"""How `shepard cost` shows a report: the total, the split by TAG and by status, the unpriced jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shepard_cli._cost_report import CostReport


class Spend(Protocol):
    """A spend so far: priced from the rows a scan read (CostReport) or from the usage counters."""

    @property
    def total_usd(self) -> float:
        """Return the total of the priced jobs."""

    def spend_json(self) -> dict[str, Any]:
        """Return the spend in short: `total_usd`, `priced` and `unpriced` jobs (and what else it knows)."""


def usd(amount: float) -> str:
    """Return a dollar amount readable at any size: cents above a dollar, else six decimals."""
    return f"${amount:,.2f}" if amount >= 1 else f"${amount:.6f}"


def spend_line(report: Spend) -> str:
    """Return the spend of the jobs in view in one line (what `shepard watch` shows)."""
    short = report.spend_json()
    unpriced = f", {short['unpriced']} unpriced" if short["unpriced"] else ""
    estimate = " (Spot runs at the recent Spot price: an estimate)" if short.get("spot_estimated") else ""
    return f"Spend so far: {usd(report.total_usd)} over {short['priced']} priced job(s){unpriced}{estimate}"


def cost_tables(report: CostReport, *, title: str, unpriced_shown: int = 20) -> None:
    """Print the total, the cost by TAG and by status group, and the unpriced jobs with their reasons."""
    from rich.table import Table
    from rich.text import Text

    from shepard_cli._cost_report import LEFT_OUT
    from shepard_cli._render import stdout

    console = stdout()
    console.print(Text(f"{title}: {usd(report.total_usd)} for {len(report.priced)} priced job(s)"))
    for heading, split in (("TAG", report.by_tag()), ("STATUS", report.by_status())):
        grid = Table(title=f"Cost by {heading.lower()}")
        grid.add_column(heading, overflow="fold")
        grid.add_column("COST (USD)", justify="right")
        grid.add_column("SHARE", justify="right")
        for key, amount in split.items():
            share = amount / report.total_usd if report.total_usd else 0.0
            grid.add_row(Text(key), usd(amount), f"{share:.1%}")
        console.print(grid)
    if report.unpriced:
        grid = Table(title=f"{len(report.unpriced)} unpriced job(s)")
        grid.add_column("UUID", overflow="fold")
        grid.add_column("TAG", overflow="fold")
        grid.add_column("REASON", overflow="fold")
        for job in report.unpriced[:unpriced_shown]:
            grid.add_row(Text(job.uuid), Text(job.tag or ""), Text(job.reason or ""))
        console.print(grid)
        if len(report.unpriced) > unpriced_shown:
            console.print(
                Text(f"... and {len(report.unpriced) - unpriced_shown} more (--output json lists all)")
            )
    others = f"{report.not_ended} not ended yet, {report.never_ran} rejected (never ran)"
    console.print(Text(f"Not counted: {others}. Left out of every price: {LEFT_OUT}."))
