"""Command line: `python -m shepard_template [--check]` writes (or verifies) cloudformation/shepard.yml."""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path
from typing import Final

from shepard_template._bundle import BundleError, collect_sources, render_index
from shepard_template._render import TemplateError, render_template

CLOUDFORMATION_DIR: Final = Path(__file__).resolve().parent.parent
SOURCE: Final = CLOUDFORMATION_DIR / "src" / "shepard.template.yml"
OUTPUT: Final = CLOUDFORMATION_DIR / "shepard.yml"
TITLES: Final = {
    "shepard_scheduler.s3_events": "the scheduler, turning S3 upload events from SQS into jobs",
    "shepard_scheduler.endpoint": "the batching endpoint, turning a JSON payload into a job",
    "shepard_scheduler.reconciler": "the reconciler, ending the jobs AWS Batch ended without their worker",
}


def _out(message: str) -> None:
    sys.stdout.write(message + "\n")


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def render(source: Path) -> str:
    """Return the generated template for `source`, bundling the installed packages."""
    modules = collect_sources()
    names = {module.name for module in modules}

    def bundle_for(entry: str) -> str:
        if entry not in names:
            _err(f"warning: {entry} is not among the installed packages; its Lambda cannot start")
        return render_index(entry, TITLES.get(entry, entry), modules)

    return render_template(source.read_text(encoding="utf-8"), bundle_for)


def main(argv: list[str] | None = None) -> int:
    """Write the generated template, or with --check report whether the committed one is stale."""
    parser = argparse.ArgumentParser(prog="python -m shepard_template", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the output differs from a fresh render")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the source template")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the generated template")
    args = parser.parse_args(argv)
    try:
        text = render(args.source)
    except (BundleError, TemplateError, OSError) as exc:
        _err(f"error: {exc}")
        return 2
    if not args.check:
        args.output.write_text(text, encoding="utf-8", newline="\n")
        _out(f"wrote {args.output} ({len(text.encode()):,} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / args.output.name
        fresh.write_text(text, encoding="utf-8", newline="\n")
        expected = fresh.read_bytes()
    try:
        committed = args.output.read_bytes()
    except FileNotFoundError:
        _err(f"error: {args.output} does not exist; run `nox -s template`")
        return 1
    if committed == expected:
        _out(f"{args.output} is up to date")
        return 0
    diff = difflib.unified_diff(
        committed.decode(errors="replace").splitlines(),
        expected.decode().splitlines(),
        fromfile=f"{args.output} (committed)",
        tofile=f"{args.output} (fresh render)",
        lineterm="",
        n=1,
    )
    for line in list(diff)[:60]:
        _err(line)
    _err(f"error: {args.output} is stale; run `nox -s template` and commit it")
    return 1


if __name__ == "__main__":
    sys.exit(main())
