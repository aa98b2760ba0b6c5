"""The template gives each component exactly the variables its configuration reads, as the bundle says."""

from __future__ import annotations

import sys

import pytest

SCHEDULER_FUNCTION = "ShepardSchedulerFunction"
ENDPOINT_FUNCTION = "ShepardSchedulerFunctionBatchingEndpoint"
RECONCILER_FUNCTION = "ShepardReconcilerFunction"
POWERTOOLS_PREFIX = "POWERTOOLS_"


def _job_definition_names(template) -> set[str]:
    [definition] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Batch::JobDefinition"]
    return {variable["Name"] for variable in definition["Properties"]["ContainerProperties"]["Environment"]}


class TestEnvironmentContract:
    @pytest.mark.parametrize("logical_id", [SCHEDULER_FUNCTION, ENDPOINT_FUNCTION])
    def test_each_function_gets_exactly_what_the_scheduler_reads(self, template, import_index, logical_id):
        """A Lambda's variables are the names its bundled SchedulerConfig reads, plus Powertools'."""
        # GIVEN the function's own inline code, loaded as Lambda loads it
        import_index(logical_id)
        config = sys.modules["shepard_scheduler"].SchedulerConfig
        variables = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        # THEN besides Powertools' own settings, the template sets exactly what that code reads: core's list
        powertools = {name for name in variables if name.startswith(POWERTOOLS_PREFIX)}
        assert set(variables) - powertools == config.variable_names()
        assert config.variable_names() == sys.modules["shepard_core"].SCHEDULER_SETTINGS

    def test_the_reconciler_gets_exactly_what_its_config_reads(self, template, import_index):
        """The reconciler's variables are the names its bundled ReconcilerConfig reads, plus Powertools'."""
        import_index(RECONCILER_FUNCTION)
        config = sys.modules["shepard_scheduler"].ReconcilerConfig
        variables = template["Resources"][RECONCILER_FUNCTION]["Properties"]["Environment"]["Variables"]
        powertools = {name for name in variables if name.startswith(POWERTOOLS_PREFIX)}
        assert set(variables) - powertools == config.variable_names()
        assert config.variable_names() == sys.modules["shepard_core"].RECONCILER_SETTINGS

    def test_the_job_definition_gives_exactly_what_core_promises_the_worker(self, template, import_index):
        """The job definition sets exactly core's JOB_DEFINITION_VARIABLES, which the worker reads."""
        import_index(SCHEDULER_FUNCTION)
        core = sys.modules["shepard_core"]
        assert _job_definition_names(template) == core.JOB_DEFINITION_VARIABLES

    def test_the_job_definition_sets_no_name_the_scheduler_sets_per_job(self, template, import_index):
        """Per-job names (UUID, ...) come only from the scheduler's overrides, not the job definition."""
        import_index(SCHEDULER_FUNCTION)
        core = sys.modules["shepard_core"]
        assert not _job_definition_names(template) & core.JOB_OVERRIDE_VARIABLES
