from shepard_core import RESERVED_KEYWORDS, PayloadVariable, special_value
from shepard_core._keywords import SPECIAL_KEYWORDS, is_reserved


class TestReservedKeywords:
    def test_original_list_is_reserved(self):
        """Every reserved keyword the original Shepard (ginkgobioworks/shepard) documents is reserved."""
        original = [
            "UUID",
            "START_TIME",
            "END_TIME",
            "JOB_STATUS",
            "EFS_INPUT_NAME",
            "EFS_OUTPUT_NAME",
            "LUSTRE_INPUT_NAME",
            "LUSTRE_OUTPUT_NAME",
            "ROOT_INPUT_NAME",
            "ROOT_OUTPUT_NAME",
            "INPUTS_BUCKET",
            "OUTPUTS_BUCKET",
            "ERROR_BUCKET",
            "INPUT_ZIP_NAME",
            "PATH",
            "HOSTNAME",
            "USES_EFS",
            "USES_LUSTRE",
            "LUSTRE_READ_ONLY_PATH",
            "EFS_READ_ONLY_PATH",
            "ULIMIT_FILENO",
            "IS_INVOKED",
        ]
        assert set(original) <= RESERVED_KEYWORDS

    def test_every_payload_variable_is_reserved(self):
        """The reserved keywords are exactly the names Shepard sets in the payload's environment."""
        assert {variable.value for variable in PayloadVariable} == RESERVED_KEYWORDS
        assert all(type(name) is str for name in RESERVED_KEYWORDS)

    def test_case_insensitive(self):
        """Reservation ignores case."""
        assert is_reserved("hostname")
        assert is_reserved("Uses_Efs")

    def test_prefix_reserved(self):
        """Names with the SHEPARD_ prefix are reserved for the row's own attributes."""
        assert is_reserved("shepard_batch_job_id")

    def test_special_not_reserved(self):
        """The special keywords are not reserved."""
        assert not any(is_reserved(k) for k in SPECIAL_KEYWORDS)
        assert not is_reserved("test")


class TestSpecialValue:
    def test_any_case(self):
        """A special keyword's value is found whatever the case of its key."""
        assert special_value({"tag": "x"}, "TAG") == "x"

    def test_empty_is_unset(self):
        """An empty value counts as unset."""
        assert special_value({"TAG": ""}, "TAG") is None
        assert special_value({}, "TAG") is None
