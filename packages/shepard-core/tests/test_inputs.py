import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shepard_core import MAX_INPUTS_BYTES, RESERVED_KEYWORDS, InputsError, parse_inputs
from shepard_core._inputs import (
    DuplicateKeyError,
    InputsEncodingError,
    InputsTooLargeError,
    InvalidJSONError,
    InvalidKeyError,
    InvalidValueError,
    NestedValueError,
    NotAnObjectError,
    NullValueError,
    ReservedKeywordError,
    UnencodableValueError,
)
from shepard_core._startup_variables import is_startup_variable


class TestParseInputsAccepts:
    def test_scalars_become_env_strings(self):
        """Strings, integers, floats and booleans become the strings an environment variable holds."""
        raw = b'{"s": "text", "i": 0, "f": 1.5, "t": true, "n": false}'
        assert parse_inputs(raw) == {"s": "text", "i": "0", "f": "1.5", "t": "True", "n": "False"}

    def test_original_shepard_example(self):
        """The original Shepard's example inputs.txt parses to its two variables, lowercase keys kept."""
        raw = (
            b'{\n"test":"this will become the value associated with an environment variable named '
            b'\'test\'",\n"tag":"this_will_become_a_prefix_for_outputs"\n}'
        )
        assert parse_inputs(raw)["tag"] == "this_will_become_a_prefix_for_outputs"

    def test_utf8_bom_is_tolerated(self):
        """A UTF-8 byte order mark, as Windows editors write, is ignored."""
        assert parse_inputs(b'\xef\xbb\xbf{"A": "1"}') == {"A": "1"}

    def test_empty_object(self):
        """An empty object is a job with no variables of its own."""
        assert parse_inputs(b"{}") == {}

    def test_special_keywords_are_allowed(self):
        """TAG and QUICK_DEPLOY_DIRECTORY are special but not reserved."""
        assert parse_inputs(b'{"TAG": "x", "quick_deploy_directory": "d"}') == {
            "TAG": "x",
            "quick_deploy_directory": "d",
        }

    def test_unicode_values_survive(self):
        """Non-ASCII text and escaped newlines are kept verbatim in values."""
        assert parse_inputs('{"A": "héllo\\nworld"}'.encode()) == {"A": "héllo\nworld"}

    def test_size_cap_is_inclusive(self):
        """A file of exactly MAX_INPUTS_BYTES is accepted."""
        prefix, middle, suffix = b'{"A": "', b'", "B": "', b'"}'
        room = MAX_INPUTS_BYTES - len(prefix) - len(middle) - len(suffix)
        raw = prefix + b"x" * (room // 2) + middle + b"y" * (room - room // 2) + suffix
        assert len(raw) == MAX_INPUTS_BYTES
        inputs = parse_inputs(raw)
        assert len(inputs["A"]) + len(inputs["B"]) == room

    @given(
        st.dictionaries(
            st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(
                lambda k: (
                    not k.upper().startswith("SHEPARD_")
                    and k.upper() not in RESERVED_KEYWORDS
                    and k.upper() not in {"TAG", "QUICK_DEPLOY_DIRECTORY"}
                    and not is_startup_variable(k)
                )
            ),
            st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=50),
            max_size=10,
        )
    )
    def test_round_trip_of_string_objects(self, mapping):
        """Any object of valid names to strings comes back unchanged."""
        assert parse_inputs(json.dumps(mapping).encode()) == mapping


class TestParseInputsRejects:
    def test_invalid_json_names_line_and_column(self):
        """Broken JSON is rejected with the line and column where it broke."""
        with pytest.raises(InvalidJSONError, match=r"line 2, column 1") as info:
            parse_inputs(b'{"A": "1"\n"B": "2"}')
        assert (info.value.line, info.value.column) == (2, 1)

    def test_nan_is_not_json(self):
        """NaN, which Python's json would accept, is rejected as invalid JSON."""
        with pytest.raises(InvalidJSONError, match="NaN"):
            parse_inputs(b'{"A": NaN}')

    @pytest.mark.parametrize(("raw", "kind"), [(b"[1]", "a list"), (b'"x"', "a string"), (b"null", "null")])
    def test_non_object(self, raw, kind):
        """A document that is not an object is rejected, saying what it holds instead."""
        with pytest.raises(NotAnObjectError, match=kind):
            parse_inputs(raw)

    @pytest.mark.parametrize("value", ["[1, 2]", '{"x": 1}'])
    def test_nested_values(self, value):
        """Lists and objects as values are rejected naming the key."""
        with pytest.raises(NestedValueError, match="'A'"):
            parse_inputs(f'{{"A": {value}}}'.encode())

    def test_nul_character_in_a_value(self):
        """A value holding a NUL character, which no environment can carry, is rejected naming the key."""
        with pytest.raises(InvalidValueError, match=r"'A'.*NUL"):
            parse_inputs(b'{"A": "x\\u0000y"}')

    def test_null_value(self):
        """A null value is rejected naming the key."""
        with pytest.raises(NullValueError, match="'A'"):
            parse_inputs(b'{"A": null}')

    @pytest.mark.parametrize("key", ["UUID", "uuid", "Path", "ROOT_OUTPUT_NAME", "is_invoked", "SHEPARD_X"])
    def test_reserved_keywords_any_case(self, key):
        """Reserved keywords are rejected whatever their case, and the error names the keyword."""
        with pytest.raises(ReservedKeywordError, match=key) as info:
            parse_inputs(json.dumps({key: "x"}).encode())
        assert info.value.keyword == key

    @pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "", "É"])
    def test_invalid_names(self, key):
        """Keys that cannot be environment variable names are rejected."""
        with pytest.raises(InvalidKeyError):
            parse_inputs(json.dumps({key: "x"}).encode())

    def test_duplicate_keys(self):
        """A key given twice is rejected rather than silently keeping the last value."""
        with pytest.raises(DuplicateKeyError, match="'A'"):
            parse_inputs(b'{"A": "1", "A": "2"}')

    def test_special_keyword_in_two_cases(self):
        """TAG given as both `tag` and `TAG` is ambiguous and rejected."""
        with pytest.raises(DuplicateKeyError, match="TAG"):
            parse_inputs(b'{"tag": "1", "TAG": "2"}')

    def test_source_names_the_inputs_in_messages(self):
        """Messages name the inputs as the caller says (the endpoint's inputs are no file)."""
        with pytest.raises(NotAnObjectError, match=r"^the request's inputs holds a list"):
            parse_inputs(b"[]", source="the request's inputs")

    def test_too_large(self):
        """A file over the cap is rejected before it is parsed."""
        with pytest.raises(InputsTooLargeError, match="limit"):
            parse_inputs(b" " * (MAX_INPUTS_BYTES + 1))

    def test_not_utf8(self):
        """Bytes that are not UTF-8 are rejected with the offset of the first bad byte."""
        with pytest.raises(InputsEncodingError, match="offset 7"):
            parse_inputs(b'{"A": "\xff"}')

    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_raise_only_inputs_errors(self, raw):
        """Whatever the bytes, parse_inputs returns a mapping or raises an InputsError."""
        try:
            result = parse_inputs(raw)
        except InputsError:
            return
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())


# JSON escapes that decode to lone surrogates: no character, so neither UTF-8 nor execve can carry them.
LONE_SURROGATES = {
    "high alone": r'"\ud800"',
    "low alone": r'"\udfff"',
    "high at the end": r'"abc\udbff"',
    "pair reversed": r'"\ude00\ud83d"',
    "high before a letter": r'"\ud83dx"',
}


class TestValuesExecCanPass:
    @pytest.mark.parametrize("case", list(LONE_SURROGATES))
    def test_lone_surrogates_are_rejected_naming_the_key(self, case):
        """A value holding a lone surrogate is an input error naming the key, never a later crash."""
        with pytest.raises(UnencodableValueError, match=r"'A'.*lone surrogate") as info:
            parse_inputs(f'{{"B": "fine", "A": {LONE_SURROGATES[case]}}}'.encode())
        assert isinstance(info.value, InvalidValueError)
        str(info.value).encode("utf-8")  # the message itself can be stored and printed

    def test_surrogate_pair_is_the_character_it_escapes(self):
        """A well-formed surrogate pair escape is one character outside the BMP, and is accepted."""
        assert parse_inputs(rb'{"A": "\ud83d\ude00"}') == {"A": "\U0001f600"}

    @pytest.mark.parametrize("key", [r"A\u0000B", r"\ud800", r"A\udfff"])
    def test_keys_exec_cannot_pass_are_rejected(self, key):
        """A name holding NUL or a lone surrogate is refused like any other bad name."""
        with pytest.raises(InvalidKeyError):
            parse_inputs(f'{{"{key}": "x"}}'.encode())

    @given(
        st.dictionaries(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
            st.text(alphabet=st.characters(codec=None), max_size=20),
            max_size=4,
        )
    )
    def test_every_accepted_value_encodes_for_exec(self, mapping):
        """Whatever text JSON escapes can make, an accepted variable is UTF-8 text without NUL."""
        try:
            result = parse_inputs(json.dumps(mapping).encode())
        except InputsError:
            return
        for name, value in result.items():
            assert "\x00" not in name + value
            (name + "=" + value).encode("utf-8")

    def test_accepted_inputs_reach_a_process(self):
        """Inputs that pass reach a real process's environment unchanged (execve takes them)."""
        inputs = parse_inputs(rb'{"A": "\ud83d\ude00 caf\u00e9", "B": "x y"}')
        shown = subprocess.run(
            [sys.executable, "-c", "import os; print(os.environ['A'] + '|' + os.environ['B'])"],
            env=inputs,
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=True,
        ).stdout
        assert shown == "\U0001f600 caf\u00e9|x y\n"
