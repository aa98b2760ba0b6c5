"""Parameter -> stack output -> CLI profile key: one table, checked against the template."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shepard_flock import FLOCK_VALUES, STACK_PROFILE_KEY, load_template, profile_from_stack

if TYPE_CHECKING:
    from pathlib import Path


class TestProfileFromStack:
    def test_outputs_fill_the_original_shepard_profile_attributes(self):
        """Outputs fill the original Shepard CLI's profile attributes; missing or empty ones are left out."""
        profile = profile_from_stack(
            "s", {"TableName": "t", "BatchingEndpointFunction": "fn", "ECRRepoName": "", "Other": "x"}
        )
        assert profile == {
            "shepard_cli_cloudformation_to_describe": "s",
            "shepard_cli_dynamo_db_to_query": "t",
            "shepard_cli_lambda_to_invoke": "fn",
        }

    def test_a_parameter_stands_in_for_its_missing_output(self):
        """Without an output, the parameter that names the resource fills the key; an output wins over it."""
        profile = profile_from_stack(
            "s",
            {"InputsBucket": "from-output"},
            {"InputsBucket": "from-parameter", "SecretsManagerName": "secret", "QueueName": "ignored"},
        )
        assert profile == {
            STACK_PROFILE_KEY: "s",
            "shepard_cli_s3_bucket_to_upload_to": "from-output",
            "shepard_cli_secret_store": "secret",
        }


class TestTableMatchesTheTemplate:
    def test_every_output_and_parameter_is_declared(self, template: Path):
        """Each row names an output, and a parameter when it has one, that the template declares."""
        document = load_template(template)
        for value in FLOCK_VALUES:
            assert value.output in document["Outputs"], value
            if value.parameter is not None:
                assert value.parameter in document["Parameters"], value

    def test_profile_keys_are_distinct(self):
        """No two outputs fill the same profile key."""
        keys = [value.profile_key for value in FLOCK_VALUES]
        assert len(keys) == len(set(keys))
        assert STACK_PROFILE_KEY not in keys
