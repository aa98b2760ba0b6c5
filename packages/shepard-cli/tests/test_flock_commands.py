import base64
import http.server
import json
import os
import threading

import pytest
from shepard_cli import _retrieve, _secrets, _update
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


class TestRetrieve:
    def _put(self, flock, key, body):
        flock.client("s3").put_object(Bucket=flock.outputs_bucket, Key=key, Body=body)

    def test_sync_fetches_only_new_or_changed(self, run, flock, tmp_path):
        """A second retrieve fetches nothing, and a changed object is fetched again."""
        target = tmp_path / "results"
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"one")
        self._put(flock, "TAG_result@u2_2026-01-01T00-00-00Z_efs.zip", b"two")
        first = run("retrieve", "--directory_to_sync_s3_bucket_to", str(target))
        assert first.exit_code == 0, first.output
        assert "2 fetched, 0 already up to date" in first.output
        assert (target / "result@u1_2026-01-01T00-00-00Z_root.zip").read_bytes() == b"one"
        second = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target))
        assert "0 fetched, 2 already up to date" in second.output
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"changed")
        third = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target))
        assert "1 fetched, 1 already up to date" in third.output
        assert (target / "result@u1_2026-01-01T00-00-00Z_root.zip").read_bytes() == b"changed"

    def test_job_option_fetches_one_jobs_outputs(self, run, flock, tmp_path):
        """--job fetches only the outputs of that job."""
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"one")
        self._put(flock, "TAG_result@u2_2026-01-01T00-00-00Z_root.zip", b"two")
        target = tmp_path / "results"
        result = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target), "--job", "u2")
        assert result.exit_code == 0, result.output
        assert [p.name for p in target.iterdir()] == ["TAG_result@u2_2026-01-01T00-00-00Z_root.zip"]

    def test_many_objects_in_parallel(self, flock, tmp_path):
        """Many objects, nested keys included, all arrive with their bytes."""
        for i in range(30):
            self._put(flock, f"dir/{i}.zip", str(i).encode())
        result = _retrieve.sync(flock.client("s3"), flock.outputs_bucket, tmp_path, parallel=8)
        assert len(result.fetched) == 30
        assert all((tmp_path / "dir" / f"{i}.zip").read_bytes() == str(i).encode() for i in range(30))

    def test_downloads_run_at_the_same_time(self, flock, tmp_path, gate):
        """With parallel=4, four objects' downloads are in flight at once."""
        # GIVEN four objects and an S3 client whose GetObject calls wait until four run together
        for i in range(4):
            self._put(flock, f"result@u{i}_2026-01-01T00-00-00Z_root.zip", b"x" * i)
        s3 = flock.client("s3")
        together = threading.Barrier(4, timeout=20)
        s3.meta.events.register("before-call.s3.GetObject", gate(together))
        # WHEN the bucket is synced four at a time
        result = _retrieve.sync(s3, flock.outputs_bucket, tmp_path, parallel=4)
        # THEN every download got past the barrier, so they overlapped
        assert len(result.fetched) == 4

    def test_keys_escaping_the_folder_are_refused(self, tmp_path):
        """A key that would land outside the target folder is refused."""
        with pytest.raises(CliError, match="outside"):
            _retrieve.local_path(tmp_path, "../evil")


class _Index(http.server.BaseHTTPRequestHandler):
    version = "0.1.0"

    def do_GET(self):
        body = json.dumps({"info": {"version": self.version}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TestCheckUpdate:
    @pytest.fixture
    def index(self, monkeypatch):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.setenv(_update.INDEX_URL_VARIABLE, f"http://127.0.0.1:{server.server_address[1]}/json")
        yield
        server.shutdown()
        server.server_close()

    def test_up_to_date(self, run, index, monkeypatch):
        """The same version as published is reported as up to date."""
        monkeypatch.setattr(_Index, "version", _update.installed_version())
        assert "is up to date" in run("check_update").output

    def test_newer_release(self, run, index, monkeypatch):
        """A newer published version is reported with the upgrade command."""
        monkeypatch.setattr(_Index, "version", "999.0")
        result = run("check-update")
        assert "shepard-cli 999.0 is out" in result.output
        assert "pip install --upgrade shepard-cli" in result.output

    def test_offline_is_a_plain_message(self, run, monkeypatch):
        """Without a connection, check-update says so in one line."""
        monkeypatch.setenv(_update.INDEX_URL_VARIABLE, "http://127.0.0.1:9/json")
        result = run("check-update")
        assert result.exit_code == 1
        assert "could not reach PyPI" in result.output
        assert "Traceback" not in result.output

    @pytest.mark.parametrize(
        ("candidate", "current", "newer"),
        [("0.2.0", "0.1.9", True), ("0.10", "0.9", True), ("1.0", "1.0.0", False), ("1.0rc1", "1.0", False)],
    )
    def test_version_order(self, candidate, current, newer):
        """Versions compare by number, and pre-releases before their release."""
        assert _update.is_newer(candidate, current) is newer
