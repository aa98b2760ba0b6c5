"""A TSV of parameter sets is read literally; every ambiguous spot is refused by line and column."""

import codecs
import json

import pytest
from shepard_cli._errors import CliError
from shepard_cli._tsv import read_parameter_table


def _table(tmp_path, content: bytes):
    path = tmp_path / "params.tsv"
    path.write_bytes(content)
    return path


def _refusal(tmp_path, content: bytes) -> str:
    with pytest.raises(CliError) as raised:
        read_parameter_table(_table(tmp_path, content))
    return str(raised.value)


class TestLiteralCells:
    def test_quotes_are_ordinary_characters(self, tmp_path):
        """`"s1"` stays `"s1"` and `"a""b"` stays as written: no csv quoting is applied."""
        table = read_parameter_table(_table(tmp_path, b'SAMPLE\tNOTE\n"s1"\t"a""b"\n'))
        assert table.header == ("SAMPLE", "NOTE")
        assert [row.cells for row in table.rows] == [('"s1"', '"a""b"')]

    def test_an_unclosed_quote_never_joins_lines(self, tmp_path):
        """A cell opening a quote it never closes is one cell: the four lines below stay four jobs."""
        content = b'SAMPLE\n"s1\ns2\ns3\ns4\n'
        table = read_parameter_table(_table(tmp_path, content))
        assert [(row.line, row.cells) for row in table.rows] == [
            (2, ('"s1',)),
            (3, ("s2",)),
            (4, ("s3",)),
            (5, ("s4",)),
        ]

    def test_spaces_inside_cells_are_kept(self, tmp_path):
        """Leading and trailing spaces of a cell are part of its value."""
        table = read_parameter_table(_table(tmp_path, b"A\tB\n x \t y\n"))
        assert table.rows[0].cells == (" x ", " y")

    def test_empty_lines_are_skipped_and_line_numbers_are_the_files(self, tmp_path):
        """Empty lines are not jobs; the rows keep the line numbers they have in the file."""
        table = read_parameter_table(_table(tmp_path, b"A\n\n1\n\n\n2"))
        assert [(row.line, row.cells) for row in table.rows] == [(3, ("1",)), (6, ("2",))]


class TestLineEnds:
    def test_crlf_is_a_line_end(self, tmp_path):
        """CRLF ends a line like LF does, and no cell keeps the carriage return."""
        table = read_parameter_table(_table(tmp_path, b"A\tB\r\n1\t2\r\n3\t4\r\n"))
        assert [row.cells for row in table.rows] == [("1", "2"), ("3", "4")]

    def test_mixed_line_ends_are_each_read(self, tmp_path):
        """A file mixing LF and CRLF lines reads every line the same way."""
        table = read_parameter_table(_table(tmp_path, b"A\r\n1\n2\r\n"))
        assert [row.cells for row in table.rows] == [("1",), ("2",)]

    def test_a_carriage_return_alone_is_refused(self, tmp_path):
        """Old Mac line ends (CR only) would make the whole file one line: refused with line and column."""
        message = _refusal(tmp_path, b"A\tB\n1\t2\r3\t4\n")
        assert "line 2, column 2 (B): a carriage return inside the cell" in message

    def test_a_carriage_return_in_the_header_is_refused(self, tmp_path):
        """A CR inside the header line is refused at line 1."""
        message = _refusal(tmp_path, b"A\rB\n1\n")
        assert "line 1, column 1: a carriage return inside the cell" in message


class TestByteOrderMarks:
    def test_a_utf8_bom_at_the_start_is_skipped(self, tmp_path):
        """A UTF-8 BOM does not become part of the first column's name, and line numbers stay the file's."""
        table = read_parameter_table(_table(tmp_path, codecs.BOM_UTF8 + b"SAMPLE\ns1\n"))
        assert table.header == ("SAMPLE",)
        assert [(row.line, row.cells) for row in table.rows] == [(2, ("s1",))]

    @pytest.mark.parametrize(
        ("bom", "encoding"),
        [(codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"), (codecs.BOM_UTF32_LE, "UTF-32")],
    )
    def test_other_boms_are_refused_by_name(self, tmp_path, bom, encoding):
        """A UTF-16 or UTF-32 file is refused as such, not misread as UTF-8."""
        message = _refusal(tmp_path, bom + "A\n1\n".encode(encoding.lower().replace("-", "")[:6]))
        assert f"starts with a {encoding} byte-order mark" in message

    def test_a_bom_inside_the_file_is_refused_where_it_is(self, tmp_path):
        """A BOM at the start of a later line (two files concatenated) is refused at its line and column."""
        message = _refusal(tmp_path, b"A\tB\n1\t2\n" + codecs.BOM_UTF8 + b"3\t4\n")
        assert "line 3, column 1 (A): a byte-order mark (U+FEFF) inside the cell" in message

    def test_text_that_is_not_utf8_is_refused_at_its_line(self, tmp_path):
        """Latin-1 text is refused with the line of its first bad byte."""
        message = _refusal(tmp_path, b"A\nok\ncaf\xe9\n")
        assert "line 3 is not UTF-8 text (byte 4 of the line" in message


class TestHeader:
    def test_duplicated_column_names_are_refused(self, tmp_path):
        """Two columns of one name would let the last cell win: refused, both columns named."""
        message = _refusal(tmp_path, b"A\tB\tA\n1\t2\t3\n")
        assert "line 1, column 3: 'A' is also the name of column 1" in message

    @pytest.mark.parametrize("header", [b"A\t\tC", b"\tB", b"A\tB\t", b"A\t  "])
    def test_empty_column_names_are_refused(self, tmp_path, header):
        """An empty header cell (also from a trailing tab) is refused with its column."""
        columns = header.count(b"\t") + 1
        message = _refusal(tmp_path, header + b"\n" + b"\t".join([b"x"] * columns) + b"\n")
        assert "the column has no name" in message

    def test_padded_column_names_are_refused(self, tmp_path):
        """A name with spaces around it is refused rather than trimmed to another name."""
        message = _refusal(tmp_path, b"A\t B\n1\t2\n")
        assert "line 1, column 2: the name ' B' has spaces around it" in message

    def test_a_first_line_that_is_empty_is_refused(self, tmp_path):
        """The variable names must be on line 1."""
        assert "line 1 is empty" in _refusal(tmp_path, b"\nA\n1\n")

    def test_a_header_alone_is_refused(self, tmp_path):
        """A table with no job line is refused."""
        assert "has no parameter sets" in _refusal(tmp_path, b"A\tB\n")


class TestRaggedRows:
    @pytest.mark.parametrize(
        ("line", "cells"),
        [(b"1", 1), (b"1\t2\t3", 3), (b"1\t2\t", 3)],
    )
    def test_a_line_with_another_number_of_cells_is_refused(self, tmp_path, line, cells):
        """Too few cells, too many, or a trailing tab: the line and both counts are named."""
        message = _refusal(tmp_path, b"A\tB\nx\ty\n" + line + b"\n")
        assert f"line 3 has {cells} cell(s) but the header has 2" in message

    def test_every_problem_is_listed_at_once(self, tmp_path):
        """All ambiguous spots are named in one refusal, so one edit fixes the file."""
        message = _refusal(tmp_path, b"A\tA\n1\n2\t3\t4\n")
        assert "line 1, column 2" in message
        assert "line 2 has 1 cell(s)" in message
        assert "line 3 has 3 cell(s)" in message


class TestBatchReadsTheTableLiterally:
    def test_quoted_cells_reach_the_job_as_written(self, run, flock, tmp_path):
        """End to end: a quoted cell and a line after an unclosed quote are each their own job's value."""
        folder = tmp_path / "job"
        folder.mkdir()
        (folder / "inputs.txt").write_text("{}")
        table = tmp_path / "params.tsv"
        table.write_bytes(codecs.BOM_UTF8 + b'SAMPLE\r\n"s1"\r\n"s2\r\ns3\r\n')
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--many", str(table))
        assert result.exit_code == 0, result.output
        s3 = flock.client("s3")
        values = sorted(
            json.loads(_inputs_txt(s3, flock.inputs_bucket, key))["SAMPLE"]
            for key in flock.keys(flock.inputs_bucket)
        )
        assert values == ['"s1"', '"s2', "s3"]

    def test_an_ambiguous_table_uploads_nothing(self, run, flock, tmp_path):
        """A refused table names its line and column, and no job of it is uploaded."""
        folder = tmp_path / "job"
        folder.mkdir()
        (folder / "inputs.txt").write_text("{}")
        table = tmp_path / "params.tsv"
        table.write_bytes(b"A\tB\tA\n1\t2\t3\n")
        result = run("batch", "--path-to-local-folder-to-batch", str(folder), "--many", str(table))
        assert result.exit_code == 1
        assert "line 1, column 3" in result.output
        assert "Traceback" not in result.output
        assert flock.keys(flock.inputs_bucket) == []


def _inputs_txt(s3, bucket, key) -> bytes:
    import io
    import zipfile

    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read("inputs.txt")
