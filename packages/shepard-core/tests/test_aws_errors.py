import pytest
from shepard_core import error_code


class FakeClientError(Exception):
    """An exception carrying a response dict, as botocore's ClientError does."""

    def __init__(self, response: object) -> None:
        super().__init__("refused")
        self.response = response


class TestErrorCode:
    def test_reads_the_code_of_a_client_error(self):
        """The code under response["Error"]["Code"] is returned."""
        error = FakeClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}})
        assert error_code(error) == "ConditionalCheckFailedException"

    @pytest.mark.parametrize(
        "exc",
        [
            ValueError("not from AWS"),
            FakeClientError(None),
            FakeClientError({}),
            FakeClientError({"Error": None}),
            FakeClientError({"Error": {}}),
            FakeClientError({"Error": {"Code": None}}),
            FakeClientError("a string"),
        ],
    )
    def test_anything_without_a_code_gives_empty(self, exc):
        """An exception without a response, or a response without a code, gives an empty string."""
        assert error_code(exc) == ""

    def test_a_numeric_code_is_text(self):
        """S3 answers some errors with a numeric code (404); it is returned as text."""
        assert error_code(FakeClientError({"Error": {"Code": 404}})) == "404"
