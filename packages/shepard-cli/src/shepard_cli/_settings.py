"""What one invocation acts on: the profile in use, its endpoint and region, and the AWS access."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from shepard_cli._errors import CliError
from shepard_cli.profiles import ENDPOINT_ATTRIBUTE, REGION_ATTRIBUTE

if TYPE_CHECKING:
    from shepard_cli._aws import Aws
    from shepard_cli.profiles import ProfileStore

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


class Settings:
    """The profile store, the profile in use (if any) and the global flags of this invocation."""

    def __init__(
        self,
        *,
        store: ProfileStore,
        profile_name: str | None = None,
        profile: dict[str, str] | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        """Hold the store, the profile in use (none by default) and the global --endpoint-url."""
        self.store = store
        self.profile_name = profile_name
        self.profile: dict[str, str] = {} if profile is None else profile
        self.endpoint_url = endpoint_url

    def resolve_endpoint(self, flag: str | None) -> str | None:
        """Return the endpoint URL: the command's flag, the global flag, $AWS_ENDPOINT_URL, the profile.

        Raise CliError, naming where it came from, when the URL is not an http(s) URL.
        """
        candidates = (
            (flag, "--endpoint-url"),
            (self.endpoint_url, "--endpoint-url"),
            (os.environ.get(ENDPOINT_VARIABLE), f"${ENDPOINT_VARIABLE}"),
            (self.profile.get(ENDPOINT_ATTRIBUTE), f"{ENDPOINT_ATTRIBUTE} in your profile"),
        )
        for value, source in candidates:
            if value:
                return _checked_endpoint(value, source)
        return None

    def aws(  # noqa: PLR0913 - one argument per access option of the original Shepard CLI
        self,
        *,
        endpoint_url: str | None = None,
        account_number: str | None = None,
        role: str | None = None,
        dont_assume: bool | None = None,
        mfa_token: str | None = None,
        serial_number: str | None = None,
    ) -> Aws:
        """Return the client factory for these access options (the profile gave their defaults)."""
        from shepard_cli._aws import Aws, AwsAccess

        return Aws(
            AwsAccess(
                home=self.store.home,
                endpoint_url=self.resolve_endpoint(endpoint_url),
                region=self.profile.get(REGION_ATTRIBUTE) or None,
                account_number=account_number or None,
                role=role or None,
                dont_assume=bool(dont_assume),
                mfa_token=mfa_token,
                serial_number=serial_number,
            )
        )


def _checked_endpoint(url: str, source: str) -> str:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or not port_ok:
        raise CliError(
            f"{url!r} (from {source}) is not an endpoint URL",
            "Give http(s)://HOST[:PORT], such as the one `shepard local up` put in the local profile",
        )
    return url
