"""Inputs that could never run are refused by parse_inputs with a specific, plain message."""

import errno
import json
import subprocess
import sys

import pytest
from shepard_core import (
    MAX_INPUTS_BYTES,
    MAX_ITEM_BYTES,
    ROW_RESERVE_BYTES,
    InputsError,
    TooDeeplyNestedError,
    UnusablePathError,
    folder_parts,
    input_zip_file_name,
    parse_inputs,
)
from shepard_core._inputs import (
    MAX_NAME_BYTES,
    EnvironmentTooLargeError,
    InvalidKeyError,
    InvalidPathValueError,
    NestedValueError,
    NotAnObjectError,
    RowTooLargeError,
    StartupVariableError,
    ValueTooLongError,
)
from shepard_core._limits import (
    ENV_RESERVE_BYTES,
    MAX_ENV_STRING_BYTES,
    MAX_ENV_TOTAL_BYTES,
    env_total_bytes,
    row_input_bytes,
)
from shepard_core._startup_variables import STARTUP_VARIABLES


def _inputs(**values: object) -> bytes:
    return json.dumps(values).encode()


class TestDeepNesting:
    @pytest.mark.parametrize(
        "raw",
        [
            b'{"A": ' + b"[" * 1_000 + b"]" * 1_000 + b"}",
            b'{"A": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b'{"A": ' + b'{"B": ' * 5_000 + b"1" + b"}" * 5_000 + b"}",
            b'{"A": ' + b'[{"B": ' * 3_000 + b"1" + b"}]" * 3_000 + b"}",
            b"[" * 120_000 + b"]" * 120_000,
        ],
        ids=["lists-1k", "lists-100k", "objects-5k", "mixed-6k", "top-level-120k"],
    )
    def test_deep_nesting_is_an_inputs_error(self, raw):
        """JSON nested thousands of levels deep is refused as nested inputs, never a RecursionError."""
        with pytest.raises((NestedValueError, NotAnObjectError)) as caught:
            parse_inputs(raw)
        assert "RecursionError" not in repr(caught.value)
        assert "recursion" not in str(caught.value).lower()

    def test_too_deep_names_the_rule(self):
        """The message for unreadably deep nesting says values must be flat strings, numbers or booleans."""
        raw = b'{"A": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        with pytest.raises(NestedValueError, match="strings, numbers or booleans"):
            parse_inputs(raw)

    def test_too_deeply_nested_is_a_nested_value_error(self):
        """TooDeeplyNestedError is caught by whoever handles NestedValueError."""
        assert issubclass(TooDeeplyNestedError, NestedValueError)


class TestEnvironmentLimits:
    def test_largest_variable_is_accepted_and_a_process_receives_it(self):
        """A variable of exactly the per-string limit is accepted, and exec really passes it on."""
        value = "x" * (MAX_ENV_STRING_BYTES - len("BIG=") - 1)
        assert parse_inputs(_inputs(BIG=value)) == {"BIG": value}
        done = subprocess.run(
            [sys.executable, "-c", "import os; print(len(os.environ['BIG']))"],
            env={"BIG": value},
            capture_output=True,
            check=True,
            text=True,
        )
        assert done.stdout.strip() == str(len(value))

    def test_one_byte_more_is_refused_as_exec_would(self):
        """One byte over the limit is refused by parse_inputs, and exec itself fails with E2BIG."""
        value = "x" * (MAX_ENV_STRING_BYTES - len("BIG=") - 1 + 1)
        with pytest.raises(ValueTooLongError, match="131,072 bytes per variable"):
            parse_inputs(_inputs(BIG=value))
        with pytest.raises(OSError) as caught:
            subprocess.run([sys.executable, "-c", "pass"], env={"BIG": value}, check=True)
        assert caught.value.errno == errno.E2BIG

    @pytest.mark.parametrize("size", [200_000, 131_073, 250_000])
    def test_long_values_name_the_variable(self, size):
        """A value too long for one environment string is refused, naming the variable and the limit."""
        with pytest.raises(ValueTooLongError, match=r"'SEQ'.*per variable"):
            parse_inputs(_inputs(SEQ="A" * size))

    def test_multibyte_values_count_bytes_not_characters(self):
        """The limit counts UTF-8 bytes: 50,000 three-byte characters are 150,000 bytes, too many."""
        with pytest.raises(ValueTooLongError):
            parse_inputs(json.dumps({"TEXT": "€" * 50_000}, ensure_ascii=False).encode())

    def test_total_environment_is_bounded(self):
        """The environment a job adds in total is measured with each string's NUL and pointer."""
        variables = {f"V{i}": "x" * 100 for i in range(3)}
        assert env_total_bytes(variables) == 3 * (len("V0=") + 100 + 1 + 8)
        assert MAX_ENV_TOTAL_BYTES - ENV_RESERVE_BYTES > MAX_INPUTS_BYTES
        assert issubclass(EnvironmentTooLargeError, InputsError)


class TestRowSize:
    def test_names_count_twice(self):
        """A name is stored as an attribute and again in the row's set of input names."""
        assert row_input_bytes({"AB": "xyz"}) == 2 * 2 + 3 + len("SHEPARD_INPUT_KEYS")

    @pytest.mark.parametrize("names", [4, 5, 7])
    def test_long_names_that_fit_the_file_but_not_the_row_are_refused(self, names):
        """Inputs under the file cap whose names make the row exceed DynamoDB's item limit are refused."""
        length = (MAX_ITEM_BYTES - ROW_RESERVE_BYTES) // (2 * names) + 1
        raw = _inputs(**{f"N{i}_" + "x" * (length - 3): "" for i in range(names)})
        assert len(raw) <= MAX_INPUTS_BYTES
        with pytest.raises(RowTooLargeError, match=r"409,600 bytes"):
            parse_inputs(raw)

    def test_row_at_the_limit_is_accepted(self):
        """Inputs whose row takes exactly the room left for inputs are accepted; one byte more is not."""
        room = MAX_ITEM_BYTES - ROW_RESERVE_BYTES - len("SHEPARD_INPUT_KEYS")
        names = [f"N{i}_" + "n" * 46_470 for i in range(3)]
        values = ["v" * 40_000] * 2 + ["v" * (room - 2 * sum(map(len, names)) - 80_000)]
        inputs = dict(zip(names, values, strict=True))
        raw = json.dumps(inputs).encode()
        assert len(raw) <= MAX_INPUTS_BYTES
        assert row_input_bytes(inputs) == MAX_ITEM_BYTES - ROW_RESERVE_BYTES
        assert parse_inputs(raw) == inputs
        inputs[names[2]] += "v"
        with pytest.raises(RowTooLargeError):
            parse_inputs(json.dumps(inputs).encode())

    def test_names_longer_than_an_attribute_name_are_refused(self):
        """A name longer than DynamoDB's attribute names is refused, with the limit in the message."""
        with pytest.raises(InvalidKeyError, match="65,535"):
            parse_inputs(_inputs(**{"N" * (MAX_NAME_BYTES + 1): ""}))


class TestStartupVariables:
    @pytest.mark.parametrize(
        "name",
        [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "ld_audit",
            "LD_anything_new",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "SHELLOPTS",
            "PS4",
            "GCONV_PATH",
            "GLIBC_TUNABLES",
            "PYTHONSTARTUP",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "PERL5OPT",
            "JAVA_TOOL_OPTIONS",
        ],
    )
    def test_startup_variables_are_refused(self, name):
        """Loader, shell and interpreter start-up variables are refused, naming the variable."""
        with pytest.raises(StartupVariableError, match=name) as caught:
            parse_inputs(_inputs(**{name: "/tmp/evil.so"}))
        assert caught.value.keyword == name

    @pytest.mark.parametrize("name", ["LD", "MY_LD_PRELOAD", "ENVIRONMENT", "PATHS", "PYTHON_VERSION"])
    def test_names_that_only_look_alike_are_accepted(self, name):
        """Names that merely contain or resemble a start-up variable are ordinary inputs."""
        assert parse_inputs(_inputs(**{name: "1"})) == {name: "1"}

    def test_a_flock_may_allow_some(self):
        """A flock that trusts its uploaders can allow named start-up variables and no others."""
        allowed = frozenset({"PYTHONPATH"})
        assert parse_inputs(_inputs(PYTHONPATH="/opt/x"), allowed_startup_variables=allowed) == {
            "PYTHONPATH": "/opt/x"
        }
        with pytest.raises(StartupVariableError):
            parse_inputs(_inputs(LD_PRELOAD="x"), allowed_startup_variables=allowed)

    def test_list_is_upper_case(self):
        """Every listed name is upper case, as the case-insensitive comparison expects."""
        assert all(name == name.upper() for name in STARTUP_VARIABLES)


class TestQuickDeployDirectory:
    @pytest.mark.parametrize(
        "value",
        ["..", "../other", "a/../b", "/abs/path", "a//b", "./a", "a/.", "a\\b", "x" * 256, "a/" + "é" * 128],
    )
    def test_unusable_folders_are_refused_at_scheduling(self, value):
        """A QUICK_DEPLOY_DIRECTORY that cannot name a folder of the bucket is refused by parse_inputs."""
        with pytest.raises(InvalidPathValueError, match="QUICK_DEPLOY_DIRECTORY"):
            parse_inputs(_inputs(QUICK_DEPLOY_DIRECTORY=value))

    @pytest.mark.parametrize("value", ["tools", "tools/v2", "tools/v2/", "x" * 255, ""])
    def test_usable_folders_are_accepted(self, value):
        """Relative folder paths (a trailing slash allowed) and an empty value are accepted."""
        assert parse_inputs(_inputs(quick_deploy_directory=value)) == {"quick_deploy_directory": value}

    def test_folder_parts(self):
        """folder_parts splits a relative folder path into its parts."""
        assert folder_parts("a/b/", "X") == ("a", "b")


class TestInputZipFileName:
    @pytest.mark.parametrize("key", ["jobs/a.zip", "a.zip", "deep/er/" + "n" * 251 + ".zip"])
    def test_names_a_file_system_holds(self, key):
        """The staged file name is the key's last part."""
        assert input_zip_file_name(key) == key.rsplit("/", 1)[-1]

    @pytest.mark.parametrize("key", ["x" * 252 + ".zip", "a/" + "é" * 128 + ".zip", "jobs/", "jobs/..", "."])
    def test_names_no_file_system_holds_are_refused(self, key):
        """A key whose file name is over 255 bytes, empty, or a dot name cannot be staged."""
        with pytest.raises(UnusablePathError, match="rename the zip"):
            input_zip_file_name(key)


class TestNumbersKeepTheirText:
    @pytest.mark.parametrize(
        ("written", "expected"),
        [
            ("1e5", "1e5"),
            ("1e400", "1e400"),
            ("-0", "-0"),
            ("1.50", "1.50"),
            ("0.1", "0.1"),
            ("1" + "0" * 5_000, "1" + "0" * 5_000),
            ("-2.5E-3", "-2.5E-3"),
        ],
    )
    def test_numbers_are_passed_on_as_written(self, written, expected):
        """A JSON number reaches the environment as the text the user wrote, never rounded or inf."""
        assert parse_inputs(f'{{"N": {written}}}'.encode()) == {"N": expected}

    @pytest.mark.parametrize(
        ("raw", "kind"),
        [
            (b"5", "a number"),
            (b"1.5", "a number"),
            (b"true", "a boolean"),
            (b'"x"', "a string"),
            (b"null", "null"),
        ],
    )
    def test_top_level_values_are_named_plainly(self, raw, kind):
        """A document that is not an object is described in plain words ("a number", not "a int")."""
        with pytest.raises(NotAnObjectError, match=f"holds {kind};"):
            parse_inputs(raw)
