import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shepard_core import (
    REJECTED_PREFIX,
    OutputKind,
    api_rejection_report_key,
    error_object_name,
    format_start_time,
    output_object_name,
    parse_error_object_name,
    parse_output_object_name,
    rejection_report_key,
)
from shepard_core._naming import (
    API_REJECTED_PREFIX,
    ErrorObjectName,
    OutputObjectName,
    RejectionReportName,
    parse_rejection_report_key,
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


UUIDS = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=128)
TAGS = st.one_of(
    st.none(), st.text(min_size=1, max_size=40), st.text(alphabet="a_.", min_size=195, max_size=210)
)
START_TIMES = st.datetimes(timezones=st.just(UTC)).map(format_start_time)


class TestParseOutputObjectName:
    def test_untagged(self):
        """An untagged output key gives its UUID, START_TIME and kind, and no tag."""
        assert parse_output_object_name(f"result@{U}_{T}_efs.zip") == OutputObjectName(
            job_uuid=U, start_time=T, kind=OutputKind.EFS
        )

    def test_tag_and_uuid_with_underscores(self):
        """Underscores in the tag and in the job id do not confuse the parts."""
        parsed = parse_output_object_name(f"my_run_1_result@job_1_{T}_lustre.zip")
        assert parsed == OutputObjectName(
            job_uuid="job_1", start_time=T, kind=OutputKind.LUSTRE, tag="my_run_1"
        )

    def test_tag_that_looks_like_a_marker(self):
        """A tag spelling `result` is still the tag."""
        parsed = parse_output_object_name(output_object_name(U, T, OutputKind.ROOT, "result"))
        assert parsed is not None
        assert (parsed.tag, parsed.job_uuid) == ("result", U)

    @given(job_uuid=UUIDS, start_time=START_TIMES, kind=st.sampled_from(OutputKind), tag=TAGS)
    def test_round_trip(self, job_uuid, start_time, kind, tag):
        """Every key the builder makes parses back to its parts, the tag as sanitised."""
        key = output_object_name(job_uuid, start_time, kind, tag)
        parsed = parse_output_object_name(key)
        assert parsed == OutputObjectName(
            job_uuid=job_uuid, start_time=start_time, kind=kind, tag=sanitize_tag(tag or "") or None
        )
        assert parsed.key == key

    @pytest.mark.parametrize(
        "key",
        [
            f"result@{U}_{T}_tmp.zip",
            f"result@{U}_{T}_root.tar",
            f"folder/result@{U}_{T}_root.zip",
            f"error@{U}_{T}.zip",
            f"_result@{U}_{T}_root.zip",
            f"a b_result@{U}_{T}_root.zip",
            f"result@{U}_root.zip",
            "inputs.zip",
            "",
        ],
    )
    def test_not_an_output(self, key):
        """Keys Shepard never writes as outputs parse to None."""
        assert parse_output_object_name(key) is None


class TestParseErrorObjectName:
    def test_tagged(self):
        """A tagged error key gives its tag, UUID and START_TIME."""
        assert parse_error_object_name(f"fail_ing_error@{U}_{T}.zip") == ErrorObjectName(
            job_uuid=U, start_time=T, tag="fail_ing"
        )

    @given(job_uuid=UUIDS, start_time=START_TIMES, tag=TAGS)
    def test_round_trip(self, job_uuid, start_time, tag):
        """Every key the builder makes parses back to its parts."""
        key = error_object_name(job_uuid, start_time, tag)
        parsed = parse_error_object_name(key)
        assert parsed == ErrorObjectName(
            job_uuid=job_uuid, start_time=start_time, tag=sanitize_tag(tag or "") or None
        )
        assert parsed.key == key

    @pytest.mark.parametrize(
        "key", [f"result@{U}_{T}_root.zip", f"error@{U}_{T}.json", f"logs/error@{U}_{T}.zip", "error@.zip"]
    )
    def test_not_an_error_zip(self, key):
        """Keys that are not error zips parse to None."""
        assert parse_error_object_name(key) is None


class TestParseRejectionReportKey:
    def test_zip_report(self):
        """A job zip's report key gives back the zip's key."""
        parsed = parse_rejection_report_key(rejection_report_key("dir/job.zip"))
        assert parsed == RejectionReportName(key="rejected/dir/job.zip.json", zip_key="dir/job.zip")
        assert parsed.is_for_zip("dir/job.zip")
        assert not parsed.is_for_zip("job.zip")

    def test_api_report(self):
        """An endpoint request's report key gives back its job id and no zip key."""
        parsed = parse_rejection_report_key(api_rejection_report_key(U))
        assert parsed == RejectionReportName(key=f"rejected/api/{U}.json", job_uuid=U)
        assert not parsed.is_for_zip(f"api/{U}")

    def test_shortened_zip_key(self):
        """A report on a zip key too long to keep has no zip key, yet still matches that zip."""
        long_key = "d/" + "k" * 1100 + ".zip"
        parsed = parse_rejection_report_key(rejection_report_key(long_key))
        assert parsed is not None
        assert parsed.zip_key is None
        assert parsed.job_uuid is None
        assert parsed.is_for_zip(long_key)
        assert not parsed.is_for_zip(long_key + "x")

    @given(zip_key=st.text(min_size=1, max_size=300).filter(lambda k: not k.startswith("api/")))
    def test_round_trip(self, zip_key):
        """Every report key of a job zip parses back to that zip's key."""
        parsed = parse_rejection_report_key(rejection_report_key(zip_key))
        assert parsed is not None
        assert parsed.zip_key == zip_key
        assert parsed.is_for_zip(zip_key)

    def test_prefixes(self):
        """Every report lies under REJECTED_PREFIX; endpoint reports under API_REJECTED_PREFIX."""
        assert rejection_report_key("a.zip").startswith(REJECTED_PREFIX)
        assert api_rejection_report_key(U).startswith(API_REJECTED_PREFIX)
        assert API_REJECTED_PREFIX.startswith(REJECTED_PREFIX)

    @pytest.mark.parametrize("key", ["rejected/.json", "rejected/a.zip", "other/a.zip.json", "a.zip.json"])
    def test_not_a_report(self, key):
        """Keys outside rejected/ or without the .json suffix parse to None."""
        assert parse_rejection_report_key(key) is None
