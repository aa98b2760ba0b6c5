"""A whole job through run_job with the process runtime, against moto server."""

from __future__ import annotations

import io
import json
import stat
import threading
import time
import zipfile
from datetime import UTC, datetime

import pytest
from shepard_core import RESERVED_KEYWORDS, Attr, JobStatus, error_object_name, output_object_name
from shepard_worker import ExitCode, run_job

DUMP_ENV = 'env > "$ROOT_OUTPUT_NAME/env.txt"\n'
FILE_SYSTEM_VARIABLES = {name for name in RESERVED_KEYWORDS if name.startswith(("EFS_", "LUSTRE_"))}


def run(flock, job_uuid: str = "job-1", **overrides: str):
    return run_job(flock.config(job_uuid, **overrides), handle_signals=False, echo=io.BytesIO())


def env_lines(archive: zipfile.ZipFile) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in archive.read("env.txt").decode().splitlines() if "=" in line]
    return dict(pairs)


def _schedule_versioned(flock, data: bytes) -> str:
    """Schedule job-1 from one upload to a versioned inputs bucket; return the version its row names."""
    flock.s3.put_bucket_versioning(Bucket=flock.INPUTS, VersioningConfiguration={"Status": "Enabled"})
    flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, files={"data.csv": data})
    version = str(flock.s3.head_object(Bucket=flock.INPUTS, Key="job-1.zip")["VersionId"])
    flock.dynamodb.update_item(
        TableName=flock.TABLE,
        Key={"UUID": {"S": "job-1"}},
        UpdateExpression="SET SHEPARD_INPUT_ZIP_VERSION = :version",
        ExpressionAttributeValues={":version": {"S": version}},
    )
    return version


class TestSuccessfulJob:
    def test_outputs_are_zipped_under_the_original_name_and_the_row_finishes(self, flock) -> None:
        """A payload exiting 0 gets its root outputs uploaded as result@<UUID>_<START_TIME>_root.zip."""
        # GIVEN a quick-deploy payload that writes an output file and echoes its inputs
        flock.quick_deploy("qd", {"run.sh": 'echo "hi $test"\nprintf data > "$ROOT_OUTPUT_NAME/out.txt"\n'})
        flock.schedule(inputs={"test": "value", "QUICK_DEPLOY_DIRECTORY": "qd"})
        # WHEN the worker runs the job
        before = int(datetime.now(UTC).timestamp())
        result = run(flock)
        # THEN the outputs are uploaded and the row is final
        row = flock.job()
        assert result.exit_code == ExitCode.OK
        key = output_object_name("job-1", row.start_time or "", "root")
        assert result.output_keys == (key,)
        assert flock.keys(flock.OUTPUTS) == [key]
        assert flock.zip(flock.OUTPUTS, key).read("out.txt") == b"data"
        assert row.status is JobStatus.JOB_COMPLETE
        assert row.exit_code == 0
        assert row.attempt == 1
        assert row.finish_time is not None
        assert before - 1 <= row.end_time <= int(datetime.now(UTC).timestamp()) + 1
        assert flock.keys(flock.ERRORS) == []

    def test_the_payload_sees_its_inputs_and_every_reserved_variable(self, flock) -> None:
        """The payload's environment holds the user's inputs and the original Shepard's reserved variables."""
        flock.quick_deploy("qd", {"run.sh": DUMP_ENV})
        flock.schedule(inputs={"alpha": "one", "QUICK_DEPLOY_DIRECTORY": "qd"})
        scheduled_ttl = flock.job().end_time
        result = run(flock)
        env = env_lines(flock.zip(flock.OUTPUTS, result.output_keys[0]))
        root = flock.mounts["root"] / "job-1"
        assert env["alpha"] == "one"
        assert env["UUID"] == "job-1"
        assert env["START_TIME"] == flock.job().start_time
        assert env["JOB_STATUS"] == "calling_payload_code"
        assert env["ROOT_INPUT_NAME"] == str(root / "input")
        assert env["ROOT_OUTPUT_NAME"] == str(root / "output")
        assert env["INPUTS_BUCKET"] == flock.INPUTS
        assert env["OUTPUTS_BUCKET"] == flock.OUTPUTS
        assert env["ERROR_BUCKET"] == flock.ERRORS
        assert env["INPUT_ZIP_NAME"] == "job-1.zip"
        assert env["HOSTNAME"] == "sheep-1"
        assert env["USES_EFS"] == "False"
        assert env["USES_LUSTRE"] == "False"
        assert env["ULIMIT_FILENO"] == "4096"
        assert env["IS_INVOKED"] == "False"
        assert env["END_TIME"] == str(scheduled_ttl)  # the row's TTL while the job runs
        assert set(RESERVED_KEYWORDS) - FILE_SYSTEM_VARIABLES <= env.keys()
        assert not [name for name in env if name.startswith(("EFS_", "LUSTRE_"))]
        assert "AWS_SECRET_ACCESS_KEY" not in env

    def test_an_input_wins_over_a_variable_the_worker_only_passes_on(self, flock) -> None:
        """A user's AWS_DEFAULT_REGION reaches the payload; the worker's own is passed on only when unset."""
        flock.quick_deploy("qd", {"run.sh": DUMP_ENV})
        flock.schedule(inputs={"AWS_DEFAULT_REGION": "eu-west-1", "QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock, AWS_REGION="us-east-1")
        env = env_lines(flock.zip(flock.OUTPUTS, result.output_keys[0]))
        assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert env["AWS_REGION"] == "us-east-1"

    def test_the_input_zip_is_in_the_root_input_folder(self, flock) -> None:
        """Without EFS or Lustre the input zip is downloaded into ROOT_INPUT_NAME."""
        flock.quick_deploy(
            "qd", {"run.sh": 'cp "$ROOT_INPUT_NAME/$INPUT_ZIP_NAME" "$ROOT_OUTPUT_NAME/in.zip"\n'}
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, files={"data.csv": b"1,2"})
        result = run(flock)
        inner = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("in.zip")
        assert zipfile.ZipFile(io.BytesIO(inner)).read("data.csv") == b"1,2"

    @pytest.mark.parametrize(
        ("key", "staged_as"),
        [("team/batch 7/job-1.zip", "job-1.zip"), ("odd//../job-1.zip", "job-1.zip")],
    )
    def test_an_input_zip_in_a_folder_of_the_bucket_is_staged_by_its_file_name(
        self, flock, key: str, staged_as: str
    ) -> None:
        """A key in a folder (or with `..` or `//`) is staged under its file name in $ROOT_INPUT_NAME."""
        # GIVEN a job whose zip sits in a folder of the inputs bucket
        flock.quick_deploy(
            "qd", {"run.sh": 'cd "$ROOT_INPUT_NAME"\nfind . -name "*.zip" > "$ROOT_OUTPUT_NAME/found"\n'}
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, files={"data.csv": b"1,2"})
        flock.s3.copy_object(
            Bucket=flock.INPUTS, Key=key, CopySource={"Bucket": flock.INPUTS, "Key": "job-1.zip"}
        )
        flock.s3.delete_object(Bucket=flock.INPUTS, Key="job-1.zip")
        flock.dynamodb.update_item(
            TableName=flock.TABLE,
            Key={"UUID": {"S": "job-1"}},
            UpdateExpression="SET INPUT_ZIP_NAME = :key",
            ExpressionAttributeValues={":key": {"S": key}},
        )
        # WHEN the worker runs it
        result = run(flock)
        # THEN the zip is where the payload looks for it
        assert result.exit_code == ExitCode.OK, result.reason
        found = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("found").decode()
        assert found == f"./{staged_as}\n"

    @pytest.mark.parametrize("later", ["overwritten", "deleted"])
    def test_a_job_made_from_one_upload_stages_that_upload(self, flock, later: str) -> None:
        """In a versioned bucket the worker stages the version the row names, whatever the key holds later."""
        # GIVEN a job made from one version of a key, which was then overwritten or deleted
        flock.quick_deploy(
            "qd", {"run.sh": 'cp "$ROOT_INPUT_NAME/$INPUT_ZIP_NAME" "$ROOT_OUTPUT_NAME/in.zip"\n'}
        )
        _schedule_versioned(flock, b"mine")
        if later == "overwritten":
            flock.s3.put_object(Bucket=flock.INPUTS, Key="job-1.zip", Body=b"another upload's bytes")
        else:
            flock.s3.delete_object(Bucket=flock.INPUTS, Key="job-1.zip")  # a delete marker; the version stays

        # WHEN the worker runs it
        result = run(flock)

        # THEN the payload got the bytes of the upload the job was made from
        assert result.exit_code == ExitCode.OK, result.reason
        inner = flock.zip(flock.OUTPUTS, result.output_keys[0]).read("in.zip")
        assert zipfile.ZipFile(io.BytesIO(inner)).read("data.csv") == b"mine"

    def test_a_version_that_is_gone_is_a_staging_failure_naming_it(self, flock) -> None:
        """When the named version was deleted for good, staging fails and names the object and the version."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        version = _schedule_versioned(flock, b"")
        flock.s3.delete_object(Bucket=flock.INPUTS, Key="job-1.zip", VersionId=version)
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert f"s3://shepard-inputs/job-1.zip (version {version})" in (result.reason or "")

    def test_an_invoked_job_has_no_input_zip(self, flock) -> None:
        """A job from the batching endpoint runs without downloading any input zip."""
        flock.quick_deploy(
            "qd", {"run.sh": DUMP_ENV + 'ls "$ROOT_INPUT_NAME" > "$ROOT_OUTPUT_NAME/ls.txt"\n'}
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, is_invoked=True)
        result = run(flock)
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        assert env_lines(archive)["IS_INVOKED"] == "True"
        assert archive.read("ls.txt").decode().split() == ["qd", "secrets"]

    def test_tag_prefixes_the_output_name(self, flock) -> None:
        """TAG (any case) becomes the sanitised prefix of the output zip's name."""
        flock.quick_deploy("qd", {"run.sh": 'echo x > "$ROOT_OUTPUT_NAME/x"\n'})
        flock.schedule(inputs={"tag": "my run/1", "QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        start = flock.job().start_time
        assert result.output_keys == (f"my_run_1_result@job-1_{start}_root.zip",)

    def test_an_empty_output_folder_uploads_nothing(self, flock) -> None:
        """A payload that writes no outputs completes without any output zip."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert result.exit_code == ExitCode.OK
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.job().status is JobStatus.JOB_COMPLETE

    def test_the_workspace_is_removed(self, flock) -> None:
        """The job's scratch folders are deleted once the outputs are uploaded."""
        flock.quick_deploy("qd", {"run.sh": 'echo x > "$ROOT_OUTPUT_NAME/x"\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        run(flock)
        assert list(flock.mounts["root"].iterdir()) == []

    def test_payload_output_is_echoed_line_by_line(self, flock) -> None:
        """Each line the payload prints goes to the echo stream."""
        flock.quick_deploy("qd", {"run.sh": "echo one\necho two >&2\nprintf three\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        echo = io.BytesIO()
        run_job(flock.config(), handle_signals=False, echo=echo)
        assert echo.getvalue() == b"payload| one\npayload| two\npayload| three\n"


class TestFileSystems:
    def test_efs_and_lustre_get_their_own_folders_and_zips(self, flock) -> None:
        """With EFS and Lustre on, each output folder is uploaded as its own _efs / _lustre zip."""
        script = DUMP_ENV + 'echo e > "$EFS_OUTPUT_NAME/e"\necho l > "$LUSTRE_OUTPUT_NAME/l"\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock, USES_EFS="True", USES_LUSTRE="True")
        start = flock.job().start_time or ""
        assert result.output_keys == tuple(
            output_object_name("job-1", start, kind) for kind in ("root", "efs", "lustre")
        )
        env = env_lines(flock.zip(flock.OUTPUTS, result.output_keys[0]))
        assert env["EFS_OUTPUT_NAME"] == str(flock.mounts["efs"] / "job-1" / "output")
        assert env["LUSTRE_INPUT_NAME"] == str(flock.mounts["fsx"] / "job-1" / "input")
        assert env["EFS_READ_ONLY_PATH"] == str(flock.mounts["efs"])
        assert env["USES_EFS"] == "True"
        assert env.keys() >= RESERVED_KEYWORDS
        assert flock.zip(flock.OUTPUTS, result.output_keys[2]).read("l") == b"l\n"
        assert [list(mount.iterdir()) for mount in flock.mounts.values()] == [[], [], []]

    def test_the_input_zip_and_quick_deploy_folder_prefer_lustre(self, flock) -> None:
        """The input zip and quick-deploy folder go to Lustre, else EFS, else root."""
        flock.quick_deploy(
            "qd",
            {"run.sh": 'pwd > "$ROOT_OUTPUT_NAME/pwd"; ls "$LUSTRE_INPUT_NAME" > "$ROOT_OUTPUT_NAME/ls"\n'},
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock, USES_EFS="True", USES_LUSTRE="True")
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        lustre_input = flock.mounts["fsx"] / "job-1" / "input"
        assert archive.read("pwd").decode().strip() == str(lustre_input / "qd")
        assert archive.read("ls").decode().split() == ["job-1.zip", "qd"]

    def test_without_lustre_the_input_zip_and_quick_deploy_folder_go_to_efs(self, flock) -> None:
        """With EFS on and Lustre off, the input zip and quick-deploy folder land in EFS_INPUT_NAME."""
        flock.quick_deploy(
            "qd",
            {"run.sh": 'pwd > "$ROOT_OUTPUT_NAME/pwd"; ls "$EFS_INPUT_NAME" > "$ROOT_OUTPUT_NAME/ls"\n'},
        )
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock, USES_EFS="True")
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        efs_input = flock.mounts["efs"] / "job-1" / "input"
        assert archive.read("pwd").decode().strip() == str(efs_input / "qd")
        assert archive.read("ls").decode().split() == ["job-1.zip", "qd"]

    def test_a_missing_mount_fails_the_job_clearly(self, flock) -> None:
        """An enabled file system whose mount does not exist fails staging with a clear reason."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock, USES_EFS="True", SHEPARD_EFS_MOUNT=str(flock.mounts["efs"] / "absent"))
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "efs mount" in (result.reason or "")
        assert flock.job().status is JobStatus.JOB_FAILED


class TestQuickDeploy:
    def test_the_whole_folder_is_fetched_and_run_sh_runs_in_it(self, flock) -> None:
        """Every file of the quick-deploy folder is downloaded and run.sh runs with the folder as cwd."""
        flock.quick_deploy(
            "tools/v1",
            {"run.sh": 'sh lib/helper.sh > "$ROOT_OUTPUT_NAME/out"\n', "lib/helper.sh": "echo helped\n"},
        )
        flock.schedule(inputs={"quick_deploy_directory": "tools/v1/"})
        result = run(flock)
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).read("out") == b"helped\n"

    @pytest.mark.parametrize("name", ["../escape", "/etc", "a/../b", "a//b", "."])
    def test_a_folder_name_that_leaves_the_input_folder_is_refused(self, flock, name: str) -> None:
        """QUICK_DEPLOY_DIRECTORY with `..`, an absolute path or empty parts fails staging."""
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": name})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "QUICK_DEPLOY_DIRECTORY" in (result.reason or "")

    def test_a_missing_folder_is_a_clear_failure(self, flock) -> None:
        """A folder absent from the quick-deploy bucket fails the job naming the folder."""
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "nothing-here"})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "has no folder nothing-here/" in (result.reason or "")

    def test_a_folder_without_run_sh_is_a_clear_failure(self, flock) -> None:
        """A quick-deploy folder without run.sh fails the job saying so."""
        flock.quick_deploy("qd", {"other.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert "has no run.sh" in (result.reason or "")

    def test_the_process_runtime_needs_a_quick_deploy_folder(self, flock) -> None:
        """Without QUICK_DEPLOY_DIRECTORY the process runtime has nothing to run and says so."""
        flock.schedule(inputs={})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "QUICK_DEPLOY_DIRECTORY" in (result.reason or "")

    def test_a_file_and_folder_clash_in_quick_deploy_is_a_staging_failure(self, flock) -> None:
        """Objects `qd/a` and `qd/a/b` cannot both be written; the job fails staging with the reason."""
        flock.quick_deploy("qd", {"run.sh": "true\n", "a": "file", "a/b": "nested"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "could not write the quick-deploy folder" in (result.reason or "")


class TestSecrets:
    def test_secrets_become_files_readable_only_by_the_owner(self, flock) -> None:
        """Each secret is written to ROOT_INPUT_NAME/secrets/<name> with mode 0600."""
        flock.secrets({"token.txt": b"s3cret", "key.pem": b"\x00\x01binary"})
        script = (
            'cd "$ROOT_INPUT_NAME/secrets"\n'
            'cp token.txt key.pem "$ROOT_OUTPUT_NAME/"\n'
            'stat -c "%a %n" token.txt key.pem > "$ROOT_OUTPUT_NAME/modes"\n'
        )
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        assert archive.read("token.txt") == b"s3cret"
        assert archive.read("key.pem") == b"\x00\x01binary"
        assert archive.read("modes").decode().split("\n")[:2] == ["600 token.txt", "600 key.pem"]

    def test_a_missing_store_leaves_the_secrets_folder_empty(self, flock) -> None:
        """Without a secret store the secrets folder exists and is empty."""
        flock.quick_deploy("qd", {"run.sh": 'ls -A "$ROOT_INPUT_NAME/secrets" > "$ROOT_OUTPUT_NAME/ls"\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).read("ls") == b""

    @pytest.mark.parametrize("name", ["../escape", "a/b", "", "..", "."])
    def test_a_secret_name_that_is_not_a_file_name_is_refused(self, flock, name: str) -> None:
        """A secret key such as `../x`, `a/b` or empty fails staging and writes nothing outside."""
        flock.secrets({name: b"x"})
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "cannot be a file name" in (result.reason or "")
        assert not (flock.mounts["root"] / "job-1" / "escape").exists()
        assert flock.job().status is JobStatus.JOB_FAILED

    @pytest.mark.parametrize("folder", ["secrets", "secrets/tools"])
    def test_a_quick_deploy_folder_in_the_secrets_folder_is_refused(self, flock, folder: str) -> None:
        """A quick-deploy folder landing on ROOT_INPUT_NAME/secrets fails staging instead of mixing in."""
        # GIVEN a quick-deploy folder named like the secrets folder, and a secret named like its script
        flock.secrets({"run.sh": b"secret content"})
        flock.quick_deploy(folder, {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": folder})
        # WHEN the worker stages the job
        result = run(flock)
        # THEN staging fails saying why, and the failure is recorded
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "give it another name than 'secrets'" in (result.reason or "")
        assert flock.job().status is JobStatus.JOB_FAILED

    def test_secret_values_must_be_base64(self, flock) -> None:
        """A secret whose value is not base64 fails staging naming the secret."""
        flock.secretsmanager.create_secret(
            Name=flock.SECRETS, SecretString=json.dumps({"a.txt": "not base64!"})
        )
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert "secret 'a.txt' is not valid base64" in (result.reason or "")


class TestFailedJob:
    def test_a_failing_payload_leaves_an_error_zip_and_a_failed_row(self, flock) -> None:
        """A payload exiting non-zero gets an error zip (logs, env, exit code) and the row ends job_failed."""
        flock.quick_deploy("qd", {"run.sh": "echo about to fail\nexit 3\n"})
        secrets = {"api_token": "hush", "ssh_key": "k", "db_password": "p", "Authorization": "Bearer x"}
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", "TAG": "t", "plain": "shown", **secrets})
        before = int(datetime.now(UTC).timestamp())
        result = run(flock)
        row = flock.job()
        key = error_object_name("job-1", row.start_time or "", "t")
        assert result.exit_code == ExitCode.PAYLOAD_FAILED
        assert result.payload_exit_code == 3
        assert result.error_key == key
        assert flock.keys(flock.ERRORS) == [key]
        archive = flock.zip(flock.ERRORS, key)
        assert archive.read("payload.log") == b"about to fail\n"
        assert archive.read("exit_code.txt") == b"3\n"
        assert b"the payload exited with code 3" in archive.read("reason.txt")
        assert b"job failed" in archive.read("worker.log")
        environment = json.loads(archive.read("environment.json"))
        assert environment["UUID"] == "job-1"
        assert {name: environment[name] for name in secrets} == dict.fromkeys(secrets, "<redacted>")
        assert environment["plain"] == "shown"
        assert row.status is JobStatus.JOB_FAILED
        assert row.exit_code == 3
        assert row.attempt == 1
        assert row.finish_time is not None
        assert before - 1 <= row.end_time <= int(datetime.now(UTC).timestamp()) + 1
        assert flock.keys(flock.OUTPUTS) == []
        assert list(flock.mounts["root"].iterdir()) == []

    @pytest.mark.parametrize(
        ("inputs", "message"),
        [
            ({"A=B": "x"}, "input 'A=B' cannot be an environment variable name"),
            ({"a": "x\0INJECTED=1"}, "input 'a' holds a NUL character"),
        ],
    )
    def test_an_input_no_environment_can_hold_is_a_staging_failure(
        self, flock, inputs: dict[str, str], message: str
    ) -> None:
        """A row input whose name has `=` or whose value has a NUL fails staging by name, never half-set."""
        flock.quick_deploy("qd", {"run.sh": 'echo ran > "$ROOT_OUTPUT_NAME/ran"\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd", **inputs})
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert message in (result.reason or "")
        assert result.error_key in flock.keys(flock.ERRORS)
        assert flock.keys(flock.OUTPUTS) == []

    def test_a_staging_failure_records_the_worker_exit_code(self, flock) -> None:
        """When the payload never ran, SHEPARD_EXIT_CODE is the worker's own exit code."""
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "absent"})
        result = run(flock)
        assert flock.job().exit_code == int(ExitCode.STAGING_FAILED)
        assert result.error_key is not None
        archive = flock.zip(flock.ERRORS, result.error_key)
        assert archive.read("exit_code.txt") == b""
        assert archive.read("payload.log") == b""

    def test_a_missing_input_zip_is_a_staging_failure(self, flock) -> None:
        """An input zip that is not in the inputs bucket fails staging naming the object."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        flock.s3.delete_object(Bucket=flock.INPUTS, Key="job-1.zip")
        result = run(flock)
        assert result.exit_code == ExitCode.STAGING_FAILED
        assert "s3://shepard-inputs/job-1.zip" in (result.reason or "")


class TestClaim:
    def test_a_missing_row_is_a_clear_error(self, flock) -> None:
        """A job whose row does not exist exits JOB_NOT_FOUND without writing anything."""
        result = run(flock, "ghost")
        assert result.exit_code == ExitCode.JOB_NOT_FOUND
        assert "ghost has no row" in (result.reason or "")
        assert flock.keys(flock.ERRORS) == []

    def test_a_not_yet_initiated_row_is_claimed(self, flock) -> None:
        """A row the scheduler left not_yet_initiated is claimed and run."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, status=JobStatus.NOT_YET_INITIATED)
        assert run(flock).exit_code == ExitCode.OK

    def test_a_retry_takes_over_a_job_left_running(self, flock) -> None:
        """Attempt 2 takes over a row a dead attempt 1 left in calling_payload_code, and records itself."""
        flock.quick_deploy("qd", {"run.sh": 'echo ok > "$ROOT_OUTPUT_NAME/ok"\n'})
        flock.schedule(
            inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, status=JobStatus.CALLING_PAYLOAD_CODE, attempt=1
        )
        stale = flock.mounts["root"] / "job-1" / "output"
        stale.mkdir(parents=True)
        (stale / "partial").write_text("from attempt 1")
        result = run(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert result.exit_code == ExitCode.OK
        assert flock.job().attempt == 2
        assert flock.zip(flock.OUTPUTS, result.output_keys[0]).namelist() == ["ok"]

    def test_a_retry_takes_over_a_failed_job(self, flock) -> None:
        """Attempt 2 reruns a job attempt 1 marked job_failed."""
        flock.quick_deploy("qd", {"run.sh": "true\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"}, status=JobStatus.JOB_FAILED, attempt=1)
        assert run(flock, AWS_BATCH_JOB_ATTEMPT="2").exit_code == ExitCode.OK
        assert flock.job().status is JobStatus.JOB_COMPLETE

    def test_an_equal_attempt_cannot_claim_a_held_job(self, flock) -> None:
        """A second worker with the same attempt number is refused and leaves the row alone."""
        flock.schedule(inputs={}, status=JobStatus.CALLING_PAYLOAD_CODE, attempt=1)
        result = run(flock)
        assert result.exit_code == ExitCode.CLAIM_REFUSED
        assert flock.job().status is JobStatus.CALLING_PAYLOAD_CODE

    def test_a_complete_job_is_not_run_again(self, flock) -> None:
        """A late duplicate of a complete job exits 0 without running anything."""
        flock.schedule(inputs={}, status=JobStatus.JOB_COMPLETE, attempt=1)
        result = run(flock, AWS_BATCH_JOB_ATTEMPT="2")
        assert result.exit_code == ExitCode.OK
        assert flock.job().attempt == 1

    def test_a_rejected_job_is_refused(self, flock) -> None:
        """A rejected job's row cannot be claimed."""
        flock.schedule(inputs={}, status=JobStatus.REJECTED)
        assert run(flock).exit_code == ExitCode.CLAIM_REFUSED

    def test_a_worker_that_lost_the_job_stops_touching_it(self, flock) -> None:
        """When a later attempt takes the job over mid-run, the earlier worker exits without writing."""
        # GIVEN a payload that waits until the test lets it finish
        flock.quick_deploy("qd", {"run.sh": 'while [ ! -e "$ROOT_INPUT_NAME/go" ]; do sleep 0.05; done\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        results = []
        worker = threading.Thread(target=lambda: results.append(run(flock)))
        worker.start()
        _wait_for_status(flock, JobStatus.CALLING_PAYLOAD_CODE)
        # WHEN attempt 2 takes the row over
        flock.dynamodb.update_item(
            TableName=flock.TABLE,
            Key={"UUID": {"S": "job-1"}},
            UpdateExpression="SET SHEPARD_ATTEMPT = :two",
            ExpressionAttributeValues={":two": {"N": "2"}},
        )
        (flock.mounts["root"] / "job-1" / "input" / "go").touch()
        worker.join(30)
        # THEN attempt 1 gives up and writes nothing
        assert results[0].exit_code == ExitCode.LOST_OWNERSHIP
        assert flock.job().status is JobStatus.CALLING_PAYLOAD_CODE
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.keys(flock.ERRORS) == []


class TestStop:
    def test_stopping_mid_run_stops_the_payload_and_fails_the_job(self, flock) -> None:
        """The stop event (what SIGTERM sets) stops the payload, uploads an error zip and exits 143."""
        flock.quick_deploy("qd", {"run.sh": "echo started\nsleep 60\n"})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        stop = threading.Event()
        results = []
        worker = threading.Thread(
            target=lambda: results.append(
                run_job(flock.config(), stop_event=stop, handle_signals=False, echo=io.BytesIO())
            )
        )
        worker.start()
        _wait_for_status(flock, JobStatus.CALLING_PAYLOAD_CODE)
        began = time.monotonic()
        stop.set()
        worker.join(30)
        assert time.monotonic() - began < 10
        assert results[0].exit_code == ExitCode.TERMINATED
        assert "SIGTERM" in (results[0].reason or "")
        assert flock.job().status is JobStatus.JOB_FAILED
        assert results[0].error_key in flock.keys(flock.ERRORS)

    def test_a_stop_before_the_payload_starts_fails_the_job_without_running_it(self, flock) -> None:
        """A stop requested while staging fails the job (exit 143, error zip) and the payload never runs."""
        flock.quick_deploy("qd", {"run.sh": 'echo ran > "$ROOT_OUTPUT_NAME/ran"\necho ran\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        stop = threading.Event()
        stop.set()
        result = run_job(flock.config(), stop_event=stop, handle_signals=False, echo=io.BytesIO())
        assert result.exit_code == ExitCode.TERMINATED
        assert result.payload_exit_code is None
        assert flock.job().status is JobStatus.JOB_FAILED
        assert flock.zip(flock.ERRORS, result.error_key or "").read("payload.log") == b""
        assert flock.keys(flock.OUTPUTS) == []
        assert list(flock.mounts["root"].iterdir()) == []


class TestOutputSafety:
    def test_a_symlink_to_a_file_outside_is_stored_as_a_link_not_its_content(self, flock) -> None:
        """An output symlink pointing outside is zipped as a link; its target is never read."""
        secret = flock.mounts["root"].parent / "worker-credentials"
        secret.write_text("AKIA-do-not-leak")
        script = f'ln -s {secret} "$ROOT_OUTPUT_NAME/creds"\nln -s / "$ROOT_OUTPUT_NAME/rootfs"\n'
        flock.quick_deploy("qd", {"run.sh": script})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        archive = flock.zip(flock.OUTPUTS, result.output_keys[0])
        assert sorted(archive.namelist()) == ["creds", "rootfs"]
        assert archive.read("creds") == str(secret).encode()
        assert stat.S_ISLNK(archive.getinfo("creds").external_attr >> 16)
        assert archive.read("rootfs") == b"/"

    def test_an_output_folder_replaced_by_a_symlink_is_not_uploaded(self, flock) -> None:
        """A payload that swaps ROOT_OUTPUT_NAME for a symlink to / gets nothing uploaded from it."""
        flock.quick_deploy("qd", {"run.sh": 'rm -rf "$ROOT_OUTPUT_NAME"\nln -s / "$ROOT_OUTPUT_NAME"\n'})
        flock.schedule(inputs={"QUICK_DEPLOY_DIRECTORY": "qd"})
        result = run(flock)
        assert result.exit_code == ExitCode.OK
        assert flock.keys(flock.OUTPUTS) == []
        assert list(flock.mounts["root"].iterdir()) == []


def _wait_for_status(flock, status: JobStatus, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if flock.row().get(Attr.JOB_STATUS, {}).get("S") == status.value:
            return
        time.sleep(0.05)
    raise AssertionError(f"the job never reached {status.value}")
