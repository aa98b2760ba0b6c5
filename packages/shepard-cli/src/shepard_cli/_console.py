"""Rich consoles and progress bars: results on stdout, progress and notes on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def stdout() -> Console:
    """Return a console on the current stdout (tables, results)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    """Return a console on the current stderr (progress, warnings)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def byte_progress() -> Progress:
    """Return a progress display for byte transfers: bar, size, speed and time left."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=stderr(),
        transient=False,
    )


def warn(message: str) -> None:
    """Print a warning line on stderr."""
    stderr().print(f"[yellow]Warning:[/yellow] {message}", markup=True)
