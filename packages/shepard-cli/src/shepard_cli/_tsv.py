"""Read a TSV of parameter sets literally: one line is one job, cells split on tabs and nothing else.

No quoting is applied (a `"` is an ordinary character, so a cell `"s1"` stays `"s1"` and an unclosed
quote never joins lines). Line endings are LF or CRLF; a UTF-8 byte-order mark at the start of the
file is skipped. Everything else that could be read two ways is refused, each problem named by the
file's own line number and column: UTF-16/32 byte-order marks, text that is not UTF-8, a carriage
return or byte-order mark inside a line, empty, padded or duplicated column names, and lines whose
number of cells differs from the header's. Empty lines are not jobs and are skipped.
"""

from __future__ import annotations

import codecs
import dataclasses
from typing import TYPE_CHECKING, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from pathlib import Path

MAX_PROBLEMS_SHOWN: Final = 10
_FOREIGN_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_HINT: Final = (
    "Save it as UTF-8 text: variable names on line 1, one job per line, cells separated by one tab each "
    "(cells are taken literally; quotes are not special)"
)


@dataclasses.dataclass(frozen=True)
class TsvRow:
    """One job's line of the table: its line number in the file and its cells, as written."""

    line: int
    cells: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ParameterTable:
    """A parameter table: the column names (line 1) and the job rows below them."""

    header: tuple[str, ...]
    rows: tuple[TsvRow, ...]


def _decode(table: Path, raw: bytes) -> str:
    """Return the text without a UTF-8 byte-order mark, or raise CliError naming its first non-UTF-8 line."""
    for bom, encoding in _FOREIGN_BOMS:
        if raw.startswith(bom):
            raise CliError(
                f"{table} starts with a {encoding} byte-order mark; shepard reads TSV files as UTF-8", _HINT
            )
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CliError(
            f"{table} line {line} is not UTF-8 text (byte {column} of the line, {exc.reason})", _HINT
        ) from None


def _stray_characters(line: int, cells: list[str], header: tuple[str, ...] | None) -> list[str]:
    """Return the problems of characters that cannot be part of a literal cell: CR and byte-order marks."""
    problems = []
    for column, cell in enumerate(cells, start=1):
        named = f" ({header[column - 1]})" if header is not None and column <= len(header) else ""
        for character, what in (("\r", "a carriage return"), ("\ufeff", "a byte-order mark (U+FEFF)")):
            if character in cell:
                problems.append(f"line {line}, column {column}{named}: {what} inside the cell")
    return problems


def _header_problems(header: tuple[str, ...]) -> list[str]:
    """Return the problems of the column names: empty, padded with spaces, or used twice."""
    problems = []
    first_column: dict[str, int] = {}
    for column, name in enumerate(header, start=1):
        if not name.strip():
            problems.append(f"line 1, column {column}: the column has no name")
        elif name != name.strip():
            problems.append(f"line 1, column {column}: the name {name!r} has spaces around it")
        elif name in first_column:
            problems.append(
                f"line 1, column {column}: {name!r} is also the name of column {first_column[name]}"
            )
        else:
            first_column[name] = column
    return problems


def _split_lines(text: str) -> list[tuple[int, str]]:
    """Return each line with its number, a CRLF's CR removed (nothing after a final newline)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [(number, line.removesuffix("\r")) for number, line in enumerate(lines, start=1)]


def read_parameter_table(table: Path) -> ParameterTable:
    """Return a TSV's header and job rows, or raise CliError listing every ambiguous spot (line, column)."""
    try:
        raw = table.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {table}: {exc.strerror or exc}", _HINT) from None
    lines = [(number, line) for number, line in _split_lines(_decode(table, raw)) if line != ""]
    if not lines or lines[0][0] != 1:
        raise CliError(f"{table} line 1 is empty: it must name the variables", _HINT)
    first = lines[0][1].split("\t")
    header = tuple(first)
    problems = _stray_characters(1, first, None) + _header_problems(header)
    rows = []
    for number, line in lines[1:]:
        cells = line.split("\t")
        problems += _stray_characters(number, cells, header)
        if len(cells) != len(header):
            problems.append(
                f"line {number} has {len(cells)} cell(s) but the header has {len(header)} "
                f"({len(cells) - 1} tab(s) where {len(header) - 1} were expected)"
            )
        rows.append(TsvRow(number, tuple(cells)))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"; and {more} more problem(s)" if more else ""
        raise CliError(
            f"{table} is ambiguous, so nothing was uploaded: {'; '.join(shown)}{tail}",
            _HINT,
        )
    if not rows:
        raise CliError(f"{table} has no parameter sets", "Put variable names on line 1, one job per line")
    return ParameterTable(header, tuple(rows))
