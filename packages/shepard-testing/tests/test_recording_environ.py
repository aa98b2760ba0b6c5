import pytest
from shepard_testing import RecordingEnviron


class TestRecordingEnviron:
    def test_records_every_name_looked_up(self):
        """get(), [] and `in` all record the name, whether or not it is set."""
        environ = RecordingEnviron({"A": "1", "B": "2"})
        assert environ["A"] == "1"
        assert environ.get("MISSING", "d") == "d"
        assert "B" in environ
        assert environ.looked_up == {"A", "MISSING", "B"}

    def test_listing_the_environment_fails(self):
        """Iterating the names is refused: a reader must ask for each name it needs."""
        environ = RecordingEnviron({"A": "1"})
        with pytest.raises(AssertionError, match="look names up"):
            list(environ)

    def test_keeps_its_own_copy(self):
        """Changing the mapping it was built from does not change it."""
        values = {"A": "1"}
        environ = RecordingEnviron(values)
        values["A"] = "2"
        assert environ["A"] == "1"
        assert len(environ) == 1
