from shepard_core import (
    JOB_DEFINITION_VARIABLES,
    JOB_OVERRIDE_VARIABLES,
    RESERVED_KEYWORDS,
    SCHEDULER_SETTINGS,
    Setting,
)
from shepard_core._keywords import is_reserved


class TestSettingNames:
    def test_original_and_template_spellings(self):
        """The names the template and the local flock already use keep their spelling."""
        assert Setting.TABLE_NAME == "SHEPARD_TABLE_NAME"
        assert Setting.DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES == "SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES"
        assert Setting.ALLOW_DOCKER_ACCESS == "ALLOW_DOCKER_ACCESS"

    def test_no_job_can_set_a_setting(self):
        """Every setting but the original Shepard's ALLOW_DOCKER_ACCESS is reserved: no input can set it."""
        settable = {setting for setting in Setting if not is_reserved(setting)}
        assert settable == {Setting.ALLOW_DOCKER_ACCESS}

    def test_scheduler_settings_are_settings(self):
        """The scheduler reads only Shepard settings, the table and its buckets among them."""
        assert set(SCHEDULER_SETTINGS) <= set(Setting)
        assert {Setting.TABLE_NAME, Setting.INPUTS_BUCKET, Setting.ERRORS_BUCKET} <= SCHEDULER_SETTINGS

    def test_job_definition_gives_the_worker_its_buckets(self):
        """The job definition names the flock's table and every bucket the worker writes to."""
        buckets = {Setting.INPUTS_BUCKET, Setting.OUTPUTS_BUCKET, Setting.ERRORS_BUCKET}
        assert {Setting.TABLE_NAME, *buckets} <= JOB_DEFINITION_VARIABLES

    def test_job_overrides_are_reserved_names(self):
        """What the scheduler sets per job is a reserved name, so no job input can override it."""
        assert all(name in RESERVED_KEYWORDS or is_reserved(name) for name in JOB_OVERRIDE_VARIABLES)
        assert {"UUID", "SHEPARD_ARRAY_CLAIM"} == JOB_OVERRIDE_VARIABLES
        assert not JOB_OVERRIDE_VARIABLES & JOB_DEFINITION_VARIABLES

    def test_plain_strings(self):
        """The name sets hold plain strings, so they compare and print as the names themselves."""
        for names in (SCHEDULER_SETTINGS, JOB_DEFINITION_VARIABLES, JOB_OVERRIDE_VARIABLES):
            assert all(type(name) is str for name in names)
