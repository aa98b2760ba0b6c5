"""Command line: `python -m shepard_flock [--check]` writes (or verifies) the generated template.

`python -m shepard_flock --lambda-python` prints the Lambda runtime's Python version (e.g. `3.13`).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

from shepard_flock._bundle import BundleError
from shepard_flock._errors import TemplateError
from shepard_flock._lambda_runtime import LAMBDA_PYTHON
from shepard_flock._render import render_flock
from shepard_flock._template import SOURCE_RELATIVE, TEMPLATE_RELATIVE, checkout_root


def _out(message: str) -> None:
    sys.stdout.write(message + "\n")


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def _check(output: Path, text: str) -> int:
    """Report whether `output` holds `text`, byte for byte; print the first lines of the difference."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / output.name
        fresh.write_text(text, encoding="utf-8", newline="\n")
        expected = fresh.read_bytes()
    try:
        committed = output.read_bytes()
    except FileNotFoundError:
        _err(f"error: {output} does not exist; run `nox -s template`")
        return 1
    if committed == expected:
        _out(f"{output} is up to date")
        return 0
    diff = difflib.unified_diff(
        committed.decode(errors="replace").splitlines(),
        expected.decode().splitlines(),
        fromfile=f"{output} (committed)",
        tofile=f"{output} (fresh render)",
        lineterm="",
        n=1,
    )
    for line in list(diff)[:60]:
        _err(line)
    _err(f"error: {output} is stale; run `nox -s template` and commit it")
    return 1


def main(argv: list[str] | None = None) -> int:
    """Write the generated template, or with --check report whether the committed one is stale."""
    parser = argparse.ArgumentParser(prog="python -m shepard_flock", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the output differs from a fresh render")
    parser.add_argument(
        "--source", type=Path, help=f"the source template (default: the checkout's {SOURCE_RELATIVE})"
    )
    parser.add_argument(
        "--output", type=Path, help=f"the generated template (default: the checkout's {TEMPLATE_RELATIVE})"
    )
    parser.add_argument(
        "--lambda-python", action="store_true", help="print the Lambda runtime's Python and stop"
    )
    args = parser.parse_args(argv)
    if args.lambda_python:
        _out(LAMBDA_PYTHON)
        return 0
    try:
        source = args.source or checkout_root() / SOURCE_RELATIVE
        output = args.output or checkout_root() / TEMPLATE_RELATIVE
        text = render_flock(source.read_text(encoding="utf-8"))
    except (BundleError, TemplateError, OSError) as exc:
        _err(f"error: {exc}")
        return 2
    if args.check:
        return _check(output, text)
    output.write_text(text, encoding="utf-8", newline="\n")
    _out(f"wrote {output} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
