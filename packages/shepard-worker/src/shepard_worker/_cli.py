"""`shepard-worker`: the AWS Batch container's command line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from shepard_worker._errors import ConfigError, ExitCode

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
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if args.command != "run":  # pragma: no cover - argparse allows only run
        return int(ExitCode.CONFIG_ERROR)
    from shepard_worker._config import WorkerConfig
    from shepard_worker._lifecycle import run_job

    try:
        config = WorkerConfig.from_env()
    except ConfigError as exc:
        print(f"shepard-worker: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's own message
        return int(exc.exit_code)
    result = run_job(config)
    return int(result.exit_code)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())
