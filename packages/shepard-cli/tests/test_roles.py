import stat
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from shepard_cli._aws import Aws, AwsAccess, RoleCache, RoleCredentials, assume_role
from shepard_cli._errors import CliError

ACCOUNT = "123456789012"


def _cache(home, *, hours: float) -> RoleCredentials:
    credentials = RoleCredentials(
        access_key_id="ASIAEXAMPLE",
        secret_access_key="not-a-secret",  # noqa: S106 - a fake for the cache
        session_token="not-a-token",  # noqa: S106 - a fake for the cache
        expiration=datetime.now(UTC) + timedelta(hours=hours),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Admin",
    )
    RoleCache(home).save(credentials)
    return credentials


class TestSetRole:
    def test_set_role_caches_credentials_privately(self, run, home, aws_endpoint):
        """`set-role` assumes the role and caches its credentials in a file only the owner can read."""
        result = run(
            "set_role",
            "--endpoint-url",
            aws_endpoint,
            "--account_number",
            ACCOUNT,
            "--role_to_assume_to_target_account",
            "Admin",
        )
        assert result.exit_code == 0, result.output
        assert f"Acting as role Admin in account {ACCOUNT}" in result.output
        mode = stat.S_IMODE((home / "role_credentials").stat().st_mode)
        assert mode == 0o600
        cached = RoleCache(home).load()
        assert cached is not None
        assert cached.role_arn == f"arn:aws:iam::{ACCOUNT}:role/Admin"

    def test_set_role_with_mfa(self, run, home, aws_endpoint):
        """`set-role` passes the MFA device and code when both are given."""
        result = run(
            "set-role",
            "--endpoint-url",
            aws_endpoint,
            "--role-to-assume-to-target-account",
            f"arn:aws:iam::{ACCOUNT}:role/Mfa",
            "--mfa_token",
            "123456",
            "--serial_number",
            f"arn:aws:iam::{ACCOUNT}:mfa/me",
        )
        assert result.exit_code == 0, result.output
        assert "Acting as role Mfa" in result.output

    def test_mfa_code_and_device_reach_sts(self, aws_endpoint):
        """Assuming a role with MFA sends the device's serial number and the code to STS."""
        # GIVEN an STS client on moto server that records what AssumeRole is called with
        sts = boto3.client("sts", endpoint_url=aws_endpoint, region_name="us-east-1")
        sent: dict[str, object] = {}
        sts.meta.events.register(
            "provide-client-params.sts.AssumeRole", lambda params, **_: sent.update(params)
        )
        # WHEN the role is assumed with an MFA code
        assume_role(
            sts,
            f"arn:aws:iam::{ACCOUNT}:role/Mfa",
            mfa_token="123456",  # noqa: S106 - a made-up MFA code
            serial_number=f"arn:aws:iam::{ACCOUNT}:mfa/me",
        )
        # THEN both went with the request; without them, neither does
        assert sent["SerialNumber"] == f"arn:aws:iam::{ACCOUNT}:mfa/me"
        assert sent["TokenCode"] == "123456"
        sent.clear()
        assume_role(sts, f"arn:aws:iam::{ACCOUNT}:role/Plain")
        assert "SerialNumber" not in sent
        assert "TokenCode" not in sent

    def test_failed_set_role_keeps_the_role_set_before(self, run, home, aws_endpoint):
        """A set-role that fails leaves the role set before it in place."""
        # GIVEN a role set earlier
        before = _cache(home, hours=1)
        # WHEN set-role is given an account number that is not one
        result = run(
            "set-role",
            "--endpoint-url",
            aws_endpoint,
            "--account-number",
            "12345",
            "--role-to-assume-to-target-account",
            "Other",
        )
        # THEN it fails and the earlier role is still the one in use
        assert result.exit_code == 1
        assert "not an AWS account number" in result.output
        assert RoleCache(home).load() == before

    def test_mfa_token_needs_serial_number(self, run, aws_endpoint):
        """An MFA code without the device's serial number is refused."""
        result = run(
            "set-role",
            "--role-to-assume-to-target-account",
            "Admin",
            "--account-number",
            ACCOUNT,
            "--mfa-token",
            "123456",
            "--endpoint-url",
            aws_endpoint,
        )
        assert result.exit_code == 1
        assert "--mfa-token and --serial-number go together" in result.output

    def test_role_needs_an_account_number(self, run, aws_endpoint):
        """A role name without an account number is refused with advice."""
        result = run(
            "set-role", "--role-to-assume-to-target-account", "Admin", "--endpoint-url", aws_endpoint
        )
        assert result.exit_code == 1
        assert "without an account number" in result.output

    def test_set_role_needs_a_role(self, run):
        """`set-role` without any role says how to give one."""
        result = run("set-role")
        assert result.exit_code == 1
        assert "no role to assume" in result.output


class TestCheckRole:
    def test_check_role_without_role(self, run):
        """`check-role` says when no role is set."""
        assert "No role is set" in run("check_role").output

    def test_check_role_shows_account_role_and_expiry(self, run, home):
        """`check-role` shows the account, role name and expiry of the cached role."""
        credentials = _cache(home, hours=1)
        result = run("check-role")
        assert result.exit_code == 0
        assert f"Role Admin in account {ACCOUNT}" in result.output
        assert f"{credentials.expiration:%Y-%m-%d %H:%M}" in result.output

    def test_check_role_reports_expiry(self, run, home):
        """`check-role` fails and says so when the cached role has expired."""
        _cache(home, hours=-1)
        result = run("check-role")
        assert result.exit_code == 1
        assert "EXPIRED" in result.output

    def test_release_role_forgets_it(self, run, home):
        """`release-role` deletes the cached credentials."""
        _cache(home, hours=1)
        assert "Role released." in run("release_role").output
        assert RoleCache(home).load() is None
        assert "No role was set." in run("release-role").output


class TestSessions:
    def test_expired_cached_role_is_refused(self, run, home, flock):
        """Commands refuse to run with an expired cached role and say what to do."""
        _cache(home, hours=-1)
        result = run("query")
        assert result.exit_code == 1
        assert "expired" in result.output
        assert "set-role" in result.output

    def test_mfa_without_a_role_is_refused(self, home, aws_endpoint):
        """MFA options with no role to assume are refused instead of silently ignored."""
        access = AwsAccess(home=home, endpoint_url=aws_endpoint, mfa_token="123456")  # noqa: S106 - made up
        with pytest.raises(CliError, match="no role is set"):
            _ = Aws(access).session

    def test_cached_role_is_used(self, home):
        """A cached role's credentials are the ones clients use."""
        _cache(home, hours=1)
        credentials = Aws(AwsAccess(home=home)).session.get_credentials()
        assert credentials is not None
        assert credentials.access_key == "ASIAEXAMPLE"

    def test_role_is_assumed_per_command(self, home, aws_endpoint):
        """Without a cached role, a configured role is assumed through STS."""
        access = AwsAccess(home=home, endpoint_url=aws_endpoint, account_number=ACCOUNT, role="Admin")
        credentials = Aws(access).session.get_credentials()
        assert credentials is not None
        assert credentials.access_key != "testing"

    def test_dont_assume_keeps_own_credentials(self, home, aws_endpoint):
        """--dont-assume True keeps the standard credential chain even with a role configured."""
        access = AwsAccess(
            home=home, endpoint_url=aws_endpoint, account_number=ACCOUNT, role="Admin", dont_assume=True
        )
        credentials = Aws(access).session.get_credentials()
        assert credentials is not None
        assert credentials.access_key == "testing"

    def test_commands_work_through_an_assumed_role(self, run, flock, store):
        """A profile with an account and role runs commands through the assumed role."""
        store.save(
            "test",
            flock.profile()
            | {
                "shepard_cli_account_number": ACCOUNT,
                "shepard_cli_role_to_assume_to_target_account": "Admin",
            },
        )
        result = run("query", "--output", "json")
        assert result.exit_code == 0, result.output

    def test_region_comes_from_the_profile(self, run, flock, store, monkeypatch):
        """shepard_cli_region picks the region the clients use."""
        store.save("test", flock.profile() | {"shepard_cli_region": "eu-west-1"})
        result = run("query")
        assert "ResourceNotFoundException" in result.output  # the table lives in us-east-1

    def test_malformed_region_is_one_line(self, run, flock, store):
        """A region that is not a region name is refused in one line."""
        store.save("test", flock.profile() | {"shepard_cli_region": "not a region!"})
        result = run("query")
        assert result.exit_code == 1
        assert "region_name 'not a region!' doesn't match a supported format. Check" in result.output

    def test_local_endpoint_defaults_the_region(self, home, aws_endpoint, monkeypatch, tmp_path):
        """With an endpoint and no region configured anywhere, clients use us-east-1."""
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        assert Aws(AwsAccess(home=home, endpoint_url=aws_endpoint)).session.region_name == "us-east-1"
        assert Aws(AwsAccess(home=home)).session.region_name is None

    def test_local_endpoint_works_without_credentials(self, home, aws_endpoint, monkeypatch, tmp_path):
        """Against a loopback endpoint with no credentials anywhere, stand-in credentials are used."""
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        s3 = Aws(AwsAccess(home=home, endpoint_url=aws_endpoint)).client("s3")
        s3.create_bucket(Bucket="local-only")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["local-only"]

    @pytest.mark.parametrize("damage", [b"{", b"\xff\xfe"])
    def test_damaged_cache_is_reported(self, home, damage):
        """A damaged role cache (bad JSON or not text) is reported with what to do."""
        home.mkdir(parents=True)
        (home / "role_credentials").write_bytes(damage)
        with pytest.raises(CliError, match="release-role"):
            RoleCache(home).load()
