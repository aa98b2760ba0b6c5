"""Finding the generated template, reading it, and loading the handlers from its inline code."""

from __future__ import annotations

import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
from shepard_flock import (
    SOURCE_RELATIVE,
    TEMPLATE_RELATIVE,
    TEMPLATE_VAR,
    TemplateError,
    checkout_root,
    find_template,
    handlers_from_template,
    inline_code,
    load_template,
    packaged_template,
)

if TYPE_CHECKING:
    from pathlib import Path


class TestFindTemplate:
    def test_the_variable_wins(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        """SHEPARD_TEMPLATE names the template even inside a checkout."""
        monkeypatch.setenv(TEMPLATE_VAR, str(tmp_path / "mine.yml"))
        assert find_template(tmp_path) == tmp_path / "mine.yml"

    def test_a_checkout_s_template_is_found_from_a_subfolder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        """Inside a checkout the nearest cloudformation/shepard.yml is used."""
        monkeypatch.delenv(TEMPLATE_VAR, raising=False)
        (tmp_path / "cloudformation").mkdir()
        (tmp_path / "cloudformation" / "shepard.yml").write_text("Resources: {}\n")
        (tmp_path / "examples" / "job").mkdir(parents=True)
        assert find_template(tmp_path / "examples" / "job") == tmp_path / "cloudformation" / "shepard.yml"

    def test_outside_a_checkout_the_packaged_copy_is_used(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ):
        """With no variable and no checkout around, the template shipped in the package is the default."""
        monkeypatch.delenv(TEMPLATE_VAR, raising=False)
        found = find_template(tmp_path)
        assert found == packaged_template()
        assert found.is_file()
        assert "AWS::Batch::JobDefinition" in found.read_text()

    def test_the_packaged_copy_reads_as_a_template(self, template: Path):
        """The shipped copy parses, short-form tags turned into their long forms."""
        document = load_template(template)
        queue = document["Resources"]["SchedulerQueue"]["Properties"]
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
            "Fn::GetAtt": ["SchedulerDeadLetterQueue", "Arn"]
        }

    def test_the_packaged_copy_is_the_committed_template(self, template: Path):
        """The package carries cloudformation/shepard.yml byte for byte: the template is committed once."""
        assert template.read_bytes() == (checkout_root() / TEMPLATE_RELATIVE).read_bytes()

    def test_the_checkout_is_found_by_its_source_template(self, tmp_path: Path):
        """The checkout root is the nearest folder holding the source template; elsewhere it is an error."""
        (tmp_path / SOURCE_RELATIVE).parent.mkdir(parents=True)
        (tmp_path / SOURCE_RELATIVE).write_text("Resources: {}\n")
        (tmp_path / "docs").mkdir()
        assert checkout_root(tmp_path / "docs") == tmp_path.resolve()
        with pytest.raises(TemplateError, match="inside a Shepard checkout"):
            checkout_root(tmp_path.parent)

    def test_inline_code_is_the_function_s_index(self, template: Path):
        """inline_code gives a function's index.py, and names a function that has none."""
        document = load_template(template)
        assert "ShepardBundleImporter" in inline_code(document, "ShepardSchedulerFunction")
        with pytest.raises(TemplateError, match="no Lambda function SchedulerQueue"):
            inline_code(document, "SchedulerQueue")

    def test_a_file_that_is_not_a_template_is_refused(self, tmp_path: Path):
        """YAML without Resources, and a missing file, are refused with the file's name."""
        (tmp_path / "t.yml").write_text("just: text\n")
        with pytest.raises(TemplateError, match="not a CloudFormation template"):
            load_template(tmp_path / "t.yml")
        with pytest.raises(TemplateError, match="cannot read"):
            load_template(tmp_path / "missing.yml")


class TestHandlersFromTemplate:
    @pytest.fixture(autouse=True)
    def _isolated(self, isolated_imports):
        """Loading the inline code installs its import hook and modules; keep them out of other tests."""

    def test_the_generated_template_yields_every_handler(self, template: Path):
        """The scheduler (SQS-mapped), the endpoint and the reconciler (a rule's target) all load."""
        handlers = handlers_from_template(template)
        assert callable(handlers.s3_events)
        assert callable(handlers.endpoint)
        assert callable(handlers.reconciler)
        assert handlers.reconciler_id == "ShepardReconcilerFunction"
        assert sys.modules[handlers.reconciler.__module__].__name__ == "shepard_scheduler.reconciler"
        assert "shepard.yml" in handlers.source
        assert (
            "(ShepardSchedulerFunction, ShepardSchedulerFunctionBatchingEndpoint, ShepardReconcilerFunction)"
            in handlers.source
        )

    def test_the_scheduler_code_that_runs_is_the_template_s(self, template: Path):
        """The loaded scheduler's modules come from the template's inline code, not the installed packages."""
        handlers = handlers_from_template(template)
        module = sys.modules[handlers.s3_events.__module__]
        # The bundle's import hook serves each module under a `shepard-bundle/` file name.
        assert str(module.__file__).startswith("shepard-bundle/shepard_scheduler/")

    def test_a_template_without_a_mapped_function_is_refused(self, tmp_path: Path):
        """A template without a function mapped to SQS and an endpoint is refused with what it found."""
        template = tmp_path / "t.yml"
        template.write_text(
            textwrap.dedent(
                """
                Resources:
                  Only:
                    Type: AWS::Lambda::Function
                    Properties:
                      Handler: index.handler
                      Code:
                        ZipFile: !Sub |
                          def handler(event, context): return event
                """
            )
        )
        with pytest.raises(TemplateError, match="behind an SQS event source mapping"):
            handlers_from_template(template)

    def test_a_template_that_is_not_yaml_is_refused(self, tmp_path: Path):
        """Unparseable YAML is reported as such."""
        template = tmp_path / "t.yml"
        template.write_text("Resources: [unclosed")
        with pytest.raises(TemplateError, match="not valid YAML"):
            handlers_from_template(template)
