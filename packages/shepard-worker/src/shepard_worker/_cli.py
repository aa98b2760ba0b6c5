"""`shepard-worker`: the AWS Batch container's command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from shepard_worker._errors import ExitCode, WorkerConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

_EPILOG = """\
exit codes: 0 job complete (or already complete, or another array's to run); 1 payload exited
non-zero; 2 bad configuration; 3 no job row; 4 job not claimable (rejected, or held by another
attempt); 5 staging failed; 6 output upload failed; 7 a later attempt took the job over;
70 internal error; 143 stopped by SIGTERM.
Configuration comes from the environment; see the package README for every variable."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shepard-worker",
        description="Run one Shepard job: claim it, stage it, run its payload, ship its outputs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="run the job named by the environment (UUID, SHEPARD_TABLE_NAME, ...)",
        description="Run the job named by the environment and exit with its exit code.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the job the environment names and return the exit code."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return _run(_parser().parse_args(argv), stop)
    # Until the job's own handler is in place, SIGTERM is remembered, so the job stops as soon as it can.
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        return _run(_parser().parse_args(argv), stop)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Run the parsed command; a set `stop` makes the job stop as SIGTERM does."""
    from shepard_worker._logs import safe_stream_handler

    # Every line of the container reaches CloudWatch Logs: none of the worker's may read as a metric.
    logging.basicConfig(level=logging.INFO, handlers=[safe_stream_handler(sys.stderr)])
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if args.command != "run":  # pragma: no cover - argparse allows only run
        return int(ExitCode.CONFIG_ERROR)
    from shepard_worker._config import WorkerConfig
    from shepard_worker._lifecycle import run_job

    try:
        config = WorkerConfig.from_env()
    except WorkerConfigError as exc:
        from shepard_worker._log_safety import safe_log_text

        print(safe_log_text(f"shepard-worker: {exc}"), file=sys.stderr)  # noqa: T201 - the CLI's own message
        return int(exc.exit_code)
    result = run_job(config, stop_event=stop)
    return int(result.exit_code)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
