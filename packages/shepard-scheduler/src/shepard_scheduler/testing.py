"""Helpers for tests and benchmarks that drive the handlers in one process: not used by the handlers."""

from shepard_scheduler._aws import forget_clients

__all__ = ["forget_clients"]
