import pytest
from shepard_core import (
    GROUP_OF,
    STATUS_WORDS,
    TERMINAL_STATUSES,
    JobStatus,
    StatusGroup,
    UnknownStatusWordError,
    status_choices,
    statuses_for_words,
)
from shepard_core._statuses import statuses_of


class TestJobStatus:
    def test_original_values_verbatim(self):
        """The original Shepard's JOB_STATUS spellings are kept exactly."""
        values = {s.value for s in JobStatus}
        assert {
            "not_yet_initiated",
            "in_progress",
            "calling_payload_code",
            "job_complete_pushing_to_s3",
            "job_complete_cleaning_up_workspace",
            "job failed; pushing logs to s3",
            "job failed; cleaning up workspace",
        } <= values
        assert {"submitted", "rejected"} <= values

    def test_statuses_are_strings(self):
        """A status compares equal to its stored string."""
        assert JobStatus("rejected") is JobStatus.REJECTED
        assert JobStatus.REJECTED == "rejected"

    def test_terminal_statuses(self):
        """Only rejection, completion and failure end a job."""
        assert {JobStatus.REJECTED, JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED} == TERMINAL_STATUSES


class TestStatusGroups:
    def test_every_status_has_one_group(self):
        """Each JOB_STATUS value belongs to exactly one group."""
        assert set(GROUP_OF) == set(JobStatus)
        assert set(GROUP_OF.values()) == set(StatusGroup)

    def test_failed_and_rejected_are_separate(self):
        """Failed selects jobs that ran and failed; rejected selects jobs refused before running."""
        assert statuses_for_words(["failed"]) == {JobStatus.JOB_FAILED}
        assert statuses_for_words(["rejected"]) == {JobStatus.REJECTED}

    def test_a_job_still_uploading_is_running(self):
        """A job whose payload ended but whose worker still uploads is in the running group."""
        running = statuses_of([StatusGroup.RUNNING])
        assert JobStatus.JOB_FAILED_PUSHING_LOGS in running
        assert JobStatus.JOB_COMPLETE_PUSHING_TO_S3 in running

    @pytest.mark.parametrize(
        ("word", "expected"),
        [
            ("active", statuses_of([StatusGroup.SUBMITTED, StatusGroup.RUNNING])),
            ("finished", TERMINAL_STATUSES),
            ("Submitted", {JobStatus.SUBMITTED, JobStatus.NOT_YET_INITIATED}),
            ("COMPLETE", {JobStatus.JOB_COMPLETE}),
            ("job failed; pushing logs to s3", {JobStatus.JOB_FAILED_PUSHING_LOGS}),
            ("IN_PROGRESS", {JobStatus.IN_PROGRESS}),
        ],
    )
    def test_words_select_statuses(self, word, expected):
        """Group words select their groups' statuses; a JOB_STATUS value selects itself; case is ignored."""
        assert statuses_for_words([word]) == expected

    def test_words_add_up(self):
        """Several words select the union of what each selects."""
        assert statuses_for_words(["failed", "rejected"]) == {JobStatus.JOB_FAILED, JobStatus.REJECTED}

    def test_active_and_finished_split_every_status(self):
        """Every status is either active or finished, never both."""
        active, finished = statuses_for_words(["active"]), statuses_for_words(["finished"])
        assert active | finished == set(JobStatus)
        assert not active & finished

    @pytest.mark.parametrize("word", ["nope", "succeeded", ""])
    def test_unknown_word_names_the_choices(self, word):
        """An unknown word raises an error that names it and lists every accepted word."""
        with pytest.raises(UnknownStatusWordError) as caught:
            statuses_for_words([word])
        assert repr(word) in str(caught.value)
        assert "active" in str(caught.value)
        assert "job_failed" in str(caught.value)

    def test_choices_list_each_word_once(self):
        """The accepted words are the group words then the JOB_STATUS values, none twice."""
        choices = status_choices()
        assert len(choices) == len(set(choices))
        assert choices[: len(STATUS_WORDS)] == list(STATUS_WORDS)
        assert {s.value for s in JobStatus} <= set(choices)
