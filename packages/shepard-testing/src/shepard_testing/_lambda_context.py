"""A stand-in for the context object Lambda passes a handler."""

from __future__ import annotations

import dataclasses
import time
import uuid

from shepard_testing._environment import ACCOUNT, REGION


@dataclasses.dataclass
class LambdaContext:
    """The attributes and method of Lambda's context that handlers and Powertools read.

    The remaining time counts down from `timeout_seconds`, unless `remaining_ms` pins it.
    """

    function_name: str = "shepard-scheduler"
    region: str = REGION
    account: str = ACCOUNT
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    timeout_seconds: float = 60.0
    remaining_ms: int | None = None
    aws_request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = dataclasses.field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN."""
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The function's log group."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """This invocation's log stream."""
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the invocation's timeout."""
        if self.remaining_ms is not None:
            return self.remaining_ms
        left = self._started + self.timeout_seconds - time.monotonic()
        return max(0, int(left * 1000))
