"""What the worker knows of the instance under it, for pricing: type, Spot or on-demand, and zone.

On AWS Batch (ECS on EC2, host networking) the instance metadata service (IMDSv2) answers; a local flock
names its instance in SHEPARD_INSTANCE_TYPE and SHEPARD_CAPACITY_TYPE instead. An unreachable or silent
metadata service leaves the facts unknown: that is never a failure of the job.
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.request
from typing import TYPE_CHECKING, Final

from shepard_core import ON_DEMAND, SPOT

if TYPE_CHECKING:
    from shepard_worker._config import WorkerConfig

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT: Final = "http://169.254.169.254"
TIMEOUT_SECONDS: Final = 1.0
"""How long each metadata request may take: the service answers in milliseconds when it is there."""
TOKEN_TTL_SECONDS: Final = 60
_LIFE_CYCLES: Final = {"spot": SPOT, "on-demand": ON_DEMAND, "normal": ON_DEMAND}


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceFacts:
    """The instance's type, capacity type (`spot` or `on-demand`) and zone; None where unknown."""

    instance_type: str | None = None
    capacity_type: str | None = None
    availability_zone: str | None = None


def capacity_type_of(life_cycle: str | None) -> str | None:
    """Return the capacity type an `instance-life-cycle` answer (or a setting) names; None if no known one."""
    if life_cycle is None:
        return None
    return _LIFE_CYCLES.get(life_cycle.strip().lower())


def read_instance_metadata(
    endpoint: str = DEFAULT_ENDPOINT, timeout: float = TIMEOUT_SECONDS
) -> InstanceFacts:
    """Ask IMDSv2 at `endpoint` for the instance's type, life cycle and zone; unknown where it won't say."""
    base = endpoint.rstrip("/")
    try:
        token = _request(f"{base}/latest/api/token", timeout, method="PUT")
    except (OSError, ValueError) as exc:
        log.info("no instance metadata (%s): the job's instance is not recorded", exc)
        return InstanceFacts()
    answers: dict[str, str | None] = {}
    for path in ("instance-type", "instance-life-cycle", "placement/availability-zone"):
        try:
            answers[path] = _request(f"{base}/latest/meta-data/{path}", timeout, token=token).strip() or None
        except (OSError, ValueError) as exc:
            log.info("instance metadata %s unanswered (%s)", path, exc)
            answers[path] = None
    return InstanceFacts(
        instance_type=answers["instance-type"],
        capacity_type=capacity_type_of(answers["instance-life-cycle"]),
        availability_zone=answers["placement/availability-zone"],
    )


def _request(url: str, timeout: float, *, method: str = "GET", token: str | None = None) -> str:
    """Return the body of one metadata request (a token PUT, or a GET carrying the token)."""
    headers = (
        {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_SECONDS)}
        if token is None
        else {"X-aws-ec2-metadata-token": token}
    )
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"instance metadata endpoint {url!r} is not an http(s) URL")
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
        body: bytes = response.read(4096)
    return body.decode("utf-8", errors="replace")


def instance_facts(config: WorkerConfig) -> InstanceFacts:
    """Return the instance facts the configuration names, else those instance metadata gives.

    The metadata service is asked when its endpoint is set, or when the worker runs for an AWS Batch
    job against AWS itself (no emulator endpoint): anywhere else there is no instance to ask about.
    """
    if config.instance_type:
        return InstanceFacts(
            instance_type=config.instance_type, capacity_type=capacity_type_of(config.capacity_type)
        )
    if config.metadata_endpoint:
        return read_instance_metadata(config.metadata_endpoint)
    if config.batch_job_id and not config.aws_endpoint_url:
        return read_instance_metadata()
    return InstanceFacts()
