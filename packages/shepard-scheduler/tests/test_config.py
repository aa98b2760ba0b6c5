"""SchedulerConfig: the handlers' settings from environment variables."""

from __future__ import annotations

import pytest
from shepard_core import SCHEDULER_SETTINGS
from shepard_scheduler import SchedulerConfig, SchedulerConfigError
from shepard_testing import RecordingEnviron

ENVIRONMENT = {
    "SHEPARD_TABLE_NAME": "jobs",
    "SHEPARD_JOB_QUEUE": "queue",
    "SHEPARD_JOB_DEFINITION": "definition:3",
    "SHEPARD_INPUTS_BUCKET": "inputs",
    "SHEPARD_ERRORS_BUCKET": "errors",
    "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": " 7 ",
    "SHEPARD_PROJECT_NAME": "Flock",
    "SHEPARD_TAG_PROJECT": "Flock",
    "SHEPARD_TAG_TEAM": "",
    "SHEPARD_TAG_CONTACT": "ops@example.com",
    "SHEPARD_TAG_WORKLOAD_TYPE": "batch",
}


class TestSchedulerConfig:
    def test_reads_exactly_the_names_it_declares(self):
        """from_env looks up exactly what variable_names() lists: core's scheduler settings."""
        environ = RecordingEnviron(ENVIRONMENT)
        SchedulerConfig.from_env(environ)
        assert environ.looked_up == SchedulerConfig.variable_names() == SCHEDULER_SETTINGS
        assert set(ENVIRONMENT) == SCHEDULER_SETTINGS

    def test_reads_every_variable(self):
        """Every variable lands in its field, the days as a number."""
        config = SchedulerConfig.from_env(ENVIRONMENT)
        assert config == SchedulerConfig(
            table_name="jobs",
            job_queue="queue",
            job_definition="definition:3",
            inputs_bucket="inputs",
            errors_bucket="errors",
            days_to_keep_failed_launch_indexes=7,
            project_name="Flock",
            tags={"Project": "Flock", "Contact": "ops@example.com", "WorkloadType": "batch"},
        )

    def test_names_every_missing_variable(self):
        """A SchedulerConfigError names each unset or blank variable at once."""
        environ = {**ENVIRONMENT, "SHEPARD_ERRORS_BUCKET": "  "}
        del environ["SHEPARD_PROJECT_NAME"]
        with pytest.raises(SchedulerConfigError) as caught:
            SchedulerConfig.from_env(environ)
        assert "SHEPARD_ERRORS_BUCKET is not set" in str(caught.value)
        assert "SHEPARD_PROJECT_NAME is not set" in str(caught.value)

    @pytest.mark.parametrize(("days", "problem"), [("two", "not a whole number"), ("0", "at least 1")])
    def test_rejects_unusable_days(self, days, problem):
        """A retention that is not a positive whole number of days is a SchedulerConfigError."""
        with pytest.raises(SchedulerConfigError, match=problem):
            SchedulerConfig.from_env({**ENVIRONMENT, "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES": days})
