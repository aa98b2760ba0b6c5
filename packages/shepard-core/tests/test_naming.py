from datetime import UTC, datetime, timedelta, timezone

import pytest
from shepard_core import (
    OutputKind,
    error_object_name,
    format_start_time,
    output_object_name,
    rejection_report_key,
    sanitize_tag,
)

U = "0b7c3e7e-1111-5222-8333-444455556666"
T = "2026-01-02T03-04-05Z"


class TestOutputObjectName:
    @pytest.mark.parametrize("kind", list(OutputKind))
    def test_untagged(self, kind):
        """Without a TAG the name is result@<UUID>_<START_TIME>_<kind>.zip."""
        assert output_object_name(U, T, kind) == f"result@{U}_{T}_{kind.value}.zip"

    def test_tagged(self):
        """A TAG is prefixed with an underscore separator."""
        assert output_object_name(U, T, OutputKind.ROOT, "exp1") == f"exp1_result@{U}_{T}_root.zip"

    def test_tag_is_sanitised(self):
        """Characters unsafe in S3 keys are replaced, so a TAG cannot add a prefix path."""
        name = output_object_name(U, T, OutputKind.EFS, "../a b/c")
        assert "/" not in name
        assert name.startswith("a_b_c_result@")

    def test_tag_that_sanitises_to_nothing(self):
        """A TAG with no usable characters adds no prefix."""
        assert output_object_name(U, T, OutputKind.ROOT, "///") == f"result@{U}_{T}_root.zip"


class TestOtherNames:
    def test_error_name(self):
        """Error zips are named like outputs with error@ in place of result@."""
        assert error_object_name(U, T, "t") == f"t_error@{U}_{T}.zip"

    def test_rejection_report_key(self):
        """Rejection reports live under rejected/ with the zip's key."""
        assert rejection_report_key("dir/job.zip") == "rejected/dir/job.zip.json"

    @pytest.mark.parametrize("char", ["a", "\u00e9", "\U0001f600"])
    def test_rejection_report_key_of_a_long_zip_key_fits_s3(self, char):
        """A zip key too long for rejected/<key>.json still gets a distinct report key within 1024 bytes."""
        longest = char * (1024 // len(char.encode()))
        report = rejection_report_key(longest)
        assert len(report.encode()) <= 1024
        assert report.startswith(f"rejected/{char * 10}")
        assert report.endswith(".json")
        assert rejection_report_key(longest[:-1]) != report
        fits = "k" * (1024 - len("rejected/.json"))
        assert rejection_report_key(fits) == f"rejected/{fits}.json"

    def test_sanitize_keeps_safe_characters(self):
        """Letters, digits and S3-safe punctuation survive sanitising."""
        assert sanitize_tag("Run-1_(a).b") == "Run-1_(a).b"


class TestStartTime:
    def test_format_is_utc_and_key_safe(self):
        """START_TIME is UTC and has no colons or spaces."""
        moment = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
        assert format_start_time(moment) == T

    def test_sortable(self):
        """Later moments format to later strings."""
        a = datetime(2026, 1, 2, tzinfo=UTC)
        assert format_start_time(a) < format_start_time(a + timedelta(seconds=1))
