from shepard_core import FAILURE_STATUSES, SUCCESS_STATUSES, TERMINAL_STATUSES, JobStatus


class TestJobStatus:
    def test_seed_values_verbatim(self):
        """The seed's JOB_STATUS spellings are kept exactly."""
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
        """Only rejection, completion and failure end a job, and success and failure never overlap."""
        assert {JobStatus.REJECTED, JobStatus.JOB_COMPLETE, JobStatus.JOB_FAILED} == TERMINAL_STATUSES
        assert not SUCCESS_STATUSES & FAILURE_STATUSES
