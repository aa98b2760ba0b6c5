import json

import boto3
import pytest
from shepard_cli._errors import CliError
from shepard_cli._stack_build import INLINE_TEMPLATE_LIMIT, parse_parameters, profile_from_outputs


def _template(path, *, pad_to=0):
    document = {
        "Parameters": {"InputsBucket": {"Type": "String"}},
        "Resources": {
            "Inputs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "InputsBucket"}}},
        },
        "Outputs": {"InputsBucket": {"Value": {"Ref": "Inputs"}}},
    }
    text = json.dumps(document)
    if pad_to > len(text):
        document["Metadata"] = {"Padding": "x" * (pad_to - len(text))}
        text = json.dumps(document)
    path.write_text(text)
    return path


class TestBuildFlockCommand:
    def test_small_template_creates_the_stack_and_a_profile(self, run, aws_endpoint, store, tmp_path):
        """A template under the inline limit creates the stack and --save-profile fills a profile from it."""
        # GIVEN a small template
        template = _template(tmp_path / "t.json")
        # WHEN the flock is built with a profile saved
        result = run(
            "build-flock", "my-flock", "--template", str(template), "-p", "InputsBucket=flock-in",
            "--endpoint-url", aws_endpoint, "--save-profile", "mine",
        )  # fmt: skip
        # THEN the stack exists, its outputs are shown and the profile points at them
        assert result.exit_code == 0, result.output
        assert "Stack my-flock created: CREATE_COMPLETE" in result.output
        assert "InputsBucket = flock-in" in result.output
        profile = store.load("mine")
        assert profile["shepard_cli_s3_bucket_to_upload_to"] == "flock-in"
        assert profile["shepard_cli_cloudformation_to_describe"] == "my-flock"
        assert profile["shepard_cli_endpoint_url"] == aws_endpoint
        assert store.current() == "mine"

    def test_large_template_needs_a_staging_bucket(self, run, aws_endpoint, tmp_path):
        """A template over the inline limit is refused without a staging bucket, and nothing is created."""
        template = _template(tmp_path / "t.json", pad_to=INLINE_TEMPLATE_LIMIT + 1)
        result = run(
            "build-flock", "big", "--template", str(template), "-p", "InputsBucket=b",
            "--endpoint-url", aws_endpoint,
        )  # fmt: skip
        assert result.exit_code == 1
        assert "--staging-bucket" in result.output
        cloudformation = boto3.client("cloudformation", endpoint_url=aws_endpoint)
        assert cloudformation.list_stacks()["StackSummaries"] == []

    def test_large_template_is_staged_in_s3(self, run, aws_endpoint, tmp_path):
        """A large template is uploaded to the staging bucket and the stack is created from its URL."""
        s3 = boto3.client("s3", endpoint_url=aws_endpoint)
        s3.create_bucket(Bucket="staging")
        template = _template(tmp_path / "t.json", pad_to=INLINE_TEMPLATE_LIMIT * 2)
        result = run(
            "build-flock", "big", "--template", str(template), "-p", "InputsBucket=big-in",
            "--staging-bucket", "staging", "--endpoint-url", aws_endpoint,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        (staged,) = s3.list_objects_v2(Bucket="staging")["Contents"]
        assert staged["Key"].startswith("shepard-templates/big/")
        assert staged["Size"] == template.stat().st_size
        assert "big-in" in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    def test_existing_stack_is_updated(self, run, aws_endpoint, tmp_path):
        """Building a flock whose stack exists updates it with the new parameters."""
        template = _template(tmp_path / "t.json")
        args = ["build-flock", "f", "--template", str(template), "--endpoint-url", aws_endpoint]
        assert run(*args, "-p", "InputsBucket=first").exit_code == 0
        result = run(*args, "-p", "InputsBucket=second")
        assert result.exit_code == 0, result.output
        assert "Stack f updated" in result.output
        assert "InputsBucket = second" in result.output


class TestParseParameters:
    def test_pairs(self):
        """Key=Value pairs become a mapping; the value may hold '='."""
        assert parse_parameters(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}

    @pytest.mark.parametrize(("pairs", "message"), [(["A"], "not Key=Value"), (["=1"], "not Key=Value"),
                                                    (["A=1", "A=2"], "given twice")])  # fmt: skip
    def test_bad_pairs(self, pairs, message):
        """A pair without a key or '=', or a repeated key, is refused."""
        with pytest.raises(CliError, match=message):
            parse_parameters(pairs)


class TestProfileFromOutputs:
    def test_outputs_fill_the_original_attributes(self):
        """The template's outputs map onto the original Shepard's profile attributes; others are left out."""
        profile = profile_from_outputs(
            "s", {"TableName": "t", "BatchingEndpointFunction": "fn", "ECRRepoName": "", "Other": "x"}
        )
        assert profile == {
            "shepard_cli_cloudformation_to_describe": "s",
            "shepard_cli_dynamo_db_to_query": "t",
            "shepard_cli_lambda_to_invoke": "fn",
        }
