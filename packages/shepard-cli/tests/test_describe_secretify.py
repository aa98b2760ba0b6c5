"""describe and secretify: the flock commands that read its stack and fill its secret."""

import base64
import json
import os

import pytest
from shepard_cli import _secrets
from shepard_cli._errors import CliError

TEMPLATE = {
    "Parameters": {"InputsBucket": {"Type": "String"}},
    "Resources": {
        "Inputs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "InputsBucket"}}}
    },
    "Outputs": {"InputsBucketName": {"Value": {"Ref": "Inputs"}}},
}


class TestDescribe:
    def test_describe_shows_parameters_outputs_and_resources(self, run, flock):
        """Describe prints the stack's parameters, outputs and resources."""
        flock.client("cloudformation").create_stack(
            StackName="my-flock",
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "InputsBucket", "ParameterValue": "described-inputs"}],
        )
        result = run("describe", "--cloudformation_to_describe", "my-flock", "--output", "json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        assert document["parameters"] == {"InputsBucket": "described-inputs"}
        assert document["outputs"] == {"InputsBucketName": "described-inputs"}
        assert [r["type"] for r in document["resources"]] == ["AWS::S3::Bucket"]
        table = run("describe", "--cloudformation-to-describe", "my-flock").output
        assert "InputsBucket" in table
        assert "AWS::S3::Bucket" in table

    def test_describe_prints_the_dashboard_url(self, run, flock):
        """A flock with a DashboardUrl output gets it on its own line, and in the JSON document."""
        url = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=f"
        template = {**TEMPLATE, "Outputs": {**TEMPLATE["Outputs"], "DashboardUrl": {"Value": url}}}
        flock.client("cloudformation").create_stack(
            StackName="my-flock",
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "InputsBucket", "ParameterValue": "described-inputs"}],
        )
        result = run("describe", "--cloudformation-to-describe", "my-flock", "--output", "json")
        document = json.loads(result.output)
        assert document["dashboard_url"] == url
        table = run("describe", "--cloudformation-to-describe", "my-flock").output
        assert f"Dashboard: {url}" in table.splitlines()

    def test_unknown_stack_is_one_line(self, run, flock):
        """An unknown stack ends in one line from AWS with advice."""
        result = run("describe", "--cloudformation-to-describe", "nope")
        assert result.exit_code == 1
        assert "AWS refused DescribeStacks" in result.output


class TestSecretify:
    def test_files_become_base64_values(self, run, flock, tmp_path):
        """Each file becomes a key holding its bytes in base64, replacing the secret."""
        folder = tmp_path / "secrets"
        folder.mkdir()
        (folder / "token.txt").write_bytes(b"abc")
        (folder / ".netrc").write_bytes(b"\x00\xff")
        result = run("secretify", "--path_to_local_secrets", str(folder))
        assert result.exit_code == 0, result.output
        stored = flock.client("secretsmanager").get_secret_value(SecretId=flock.secret)["SecretString"]
        assert {k: base64.b64decode(v) for k, v in json.loads(stored).items()} == {
            "token.txt": b"abc",
            ".netrc": b"\x00\xff",
        }

    @pytest.mark.parametrize("name", ["has space", "semi;colon"])
    def test_names_that_are_not_plain_are_refused(self, tmp_path, name):
        """A file name with characters outside the plain set is refused."""
        (tmp_path / name).write_text("x")
        with pytest.raises(CliError, match="not a plain file name"):
            _secrets.secret_document(tmp_path)

    @pytest.mark.parametrize("size", [256, 300, 4096])
    def test_names_no_file_system_can_hold_are_refused_in_one_line(self, size):
        """A secret name over 255 bytes is refused with one line naming the limit, never stored."""
        with pytest.raises(CliError, match=r"names of at most 255 bytes") as refused:
            _secrets.check_secret_name("k" * size)
        assert "\n" not in str(refused.value)
        assert f"{size:,}-byte name" in str(refused.value)

    def test_a_name_of_255_bytes_is_accepted(self):
        """The longest name a file system holds is a valid secret name."""
        _secrets.check_secret_name("k" * 255)

    def test_subfolders_are_refused(self, tmp_path):
        """A folder inside the secrets folder is refused."""
        (tmp_path / "nested").mkdir()
        with pytest.raises(CliError, match="plain files only"):
            _secrets.secret_document(tmp_path)

    def test_too_large_is_refused_before_calling_aws(self, run, flock, tmp_path):
        """A secret over 64 KB is refused locally, naming the largest file, and the secret is untouched."""
        folder = tmp_path / "secrets"
        folder.mkdir()
        (folder / "big.bin").write_bytes(os.urandom(50_000))
        result = run("secretify", "--path-to-local-secrets", str(folder))
        assert result.exit_code == 1
        assert "'big.bin' is the largest file" in result.output
        stored = flock.client("secretsmanager").get_secret_value(SecretId=flock.secret)["SecretString"]
        assert stored == "{}"

    def test_near_the_limit_warns(self, run, flock, tmp_path):
        """A secret close to the limit is stored with a warning."""
        folder = tmp_path / "secrets"
        folder.mkdir()
        (folder / "big.bin").write_bytes(os.urandom(42_000))
        result = run("secretify", "--path-to-local-secrets", str(folder))
        assert result.exit_code == 0, result.output
        assert "cannot grow much more" in result.stderr

    def test_missing_secret_is_reported(self, run, flock, tmp_path):
        """A secret that does not exist is reported with the option that names it."""
        folder = tmp_path / "secrets"
        folder.mkdir()
        (folder / "a").write_text("x")
        result = run("secretify", "--path-to-local-secrets", str(folder), "--secret_store", "nope")
        assert result.exit_code == 1
        assert "there is no secret 'nope'" in result.output
