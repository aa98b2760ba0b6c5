"""AWS sessions: the standard credential chain, an assumed role (with or without MFA), or a cached one."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from pathlib import Path

    import boto3
    from mypy_boto3_sts import STSClient

ROLE_CACHE_FILE: Final = "role_credentials"
ROLE_SESSION_NAME: Final = "shepard-cli"
LOCAL_DEFAULT_REGION: Final = "us-east-1"
LOCAL_STAND_IN_KEY: Final = "shepard-local"
"""Access key and secret used against a loopback endpoint (a local flock) when no credentials exist."""
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(endpoint_url: str | None) -> bool:
    """Return whether `endpoint_url` points at this machine (a local flock's emulator)."""
    if not endpoint_url:
        return False
    from urllib.parse import urlparse

    return (urlparse(endpoint_url).hostname or "") in _LOOPBACK_HOSTS


@dataclasses.dataclass(frozen=True, kw_only=True)
class RoleCredentials:
    """Temporary credentials of an assumed role, with what they were assumed as."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    role_arn: str

    @property
    def account(self) -> str:
        """Return the account number the role belongs to."""
        parts = self.role_arn.split(":")
        return parts[4] if len(parts) > 4 else ""  # noqa: PLR2004 - arn:partition:service:region:account

    @property
    def role_name(self) -> str:
        """Return the role's name (the last part of its ARN)."""
        return self.role_arn.rsplit("/", 1)[-1]

    def expired(self, now: datetime | None = None) -> bool:
        """Return whether the credentials have expired."""
        return (datetime.now(UTC) if now is None else now) >= self.expiration

    def to_json(self) -> str:
        """Return the credentials as the JSON the cache file holds."""
        data = dataclasses.asdict(self)
        data["expiration"] = self.expiration.isoformat()
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RoleCredentials:
        """Read credentials back from the cache file's JSON."""
        data: dict[str, Any] = json.loads(text)
        expiration = datetime.fromisoformat(data.pop("expiration"))
        return cls(expiration=expiration, **data)


def role_arn_for(account_number: str | None, role: str) -> str:
    """Return the ARN of `role`: as given when it is an ARN, else built from the account number."""
    if role.startswith("arn:"):
        return role
    if not account_number:
        raise CliError(
            f"cannot assume role {role!r} without an account number",
            "Pass --account-number, set shepard_cli_account_number in your profile, "
            "or pass --dont-assume True",
        )
    if not account_number.isdigit() or len(account_number) != 12:  # noqa: PLR2004 - AWS account numbers
        raise CliError(
            f"{account_number!r} is not an AWS account number", "Give the 12 digits of the account"
        )
    return f"arn:aws:iam::{account_number}:role/{role}"


def assume_role(
    sts: STSClient,
    role_arn: str,
    *,
    mfa_token: str | None = None,
    serial_number: str | None = None,
    duration_seconds: int = 3600,
) -> RoleCredentials:
    """Assume `role_arn` (with an MFA code when given) and return its temporary credentials."""
    if bool(mfa_token) != bool(serial_number):
        raise CliError(
            "--mfa-token and --serial-number go together",
            "Pass both: the code from your MFA device and the device's ARN",
        )
    kwargs: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": ROLE_SESSION_NAME,
        "DurationSeconds": duration_seconds,
    }
    if mfa_token and serial_number:
        kwargs |= {"SerialNumber": serial_number, "TokenCode": mfa_token}
    credentials = sts.assume_role(**kwargs)["Credentials"]
    return RoleCredentials(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
        expiration=credentials["Expiration"].astimezone(UTC),
        role_arn=role_arn,
    )


CONNECTIONS: Final = 32
"""The connections a client keeps open: `watch` reads up to about 30 index partitions at once."""


class RoleCache:
    """The file set-role writes temporary credentials to (mode 0600) and every command reads."""

    def __init__(self, home: Path) -> None:
        """Keep the cache in the profile directory `home`."""
        self.path = home / ROLE_CACHE_FILE

    def load(self) -> RoleCredentials | None:
        """Return the cached credentials, or None when no role is set."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return RoleCredentials.from_json(raw.decode("utf-8"))
        except (ValueError, KeyError, TypeError):
            raise CliError(
                f"the role cache {self.path} is damaged",
                "Run `shepard release-role`, then set the role again",
            ) from None

    def save(self, credentials: RoleCredentials) -> None:
        """Write the credentials readable by the owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(credentials.to_json())

    def clear(self) -> bool:
        """Delete the cached credentials; return whether there were any."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


@dataclasses.dataclass(frozen=True, kw_only=True)
class AwsAccess:
    """How to reach AWS for one command: which endpoint, and which role (if any) to act as."""

    home: Path
    endpoint_url: str | None = None
    region: str | None = None
    account_number: str | None = None
    role: str | None = None
    dont_assume: bool = False
    mfa_token: str | None = None
    serial_number: str | None = None


class Aws:
    """Make boto3 clients for one command: a cached role, else an assumed role, else the standard chain."""

    def __init__(self, access: AwsAccess) -> None:
        """Resolve credentials lazily, on the first client."""
        self.access = access
        self._session: boto3.Session | None = None

    @property
    def session(self) -> boto3.Session:
        """Return the boto3 session the clients come from."""
        if self._session is None:
            self._session = self._make_session()
        return self._session

    def _region(self) -> str | None:
        import boto3

        if self.access.region:
            return self.access.region
        if self.access.endpoint_url and boto3.Session().region_name is None:
            return LOCAL_DEFAULT_REGION
        return None

    def _make_session(self) -> boto3.Session:
        import boto3

        region = self._region()
        cached = RoleCache(self.access.home).load()
        if cached is not None:
            if cached.expired():
                raise CliError(
                    f"the role {cached.role_name} set with set-role expired at "
                    f"{cached.expiration:%Y-%m-%d %H:%M:%S} UTC",
                    "Run `shepard set-role` again, or `shepard release-role` to use your own credentials",
                )
            return boto3.Session(
                aws_access_key_id=cached.access_key_id,
                aws_secret_access_key=cached.secret_access_key,
                aws_session_token=cached.session_token,
                region_name=region,
            )
        base = boto3.Session(region_name=region)
        if is_loopback(self.access.endpoint_url) and base.get_credentials() is None:
            return boto3.Session(
                aws_access_key_id=LOCAL_STAND_IN_KEY,
                aws_secret_access_key=LOCAL_STAND_IN_KEY,
                region_name=region,
            )
        if self.access.dont_assume or not self.access.role:
            if (self.access.mfa_token or self.access.serial_number) and not self.access.dont_assume:
                raise CliError(
                    "--mfa-token and --serial-number are for assuming a role, and no role is set",
                    "Pass --role-to-assume-to-target-account (and --account-number), "
                    "or leave the MFA options out",
                )
            return base
        sts = base.client("sts", endpoint_url=self.access.endpoint_url)
        credentials = assume_role(
            sts,
            role_arn_for(self.access.account_number, self.access.role),
            mfa_token=self.access.mfa_token,
            serial_number=self.access.serial_number,
        )
        return boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=region,
        )

    def client(self, service: str) -> Any:  # noqa: ANN401 - callers annotate with the mypy_boto3 type
        """Return a client for `service` at the configured endpoint, with a connection per concurrent read."""
        from botocore.config import Config

        return self.session.client(  # type: ignore[call-overload]
            service, endpoint_url=self.access.endpoint_url, config=Config(max_pool_connections=CONNECTIONS)
        )
