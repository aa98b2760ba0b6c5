"""Read the clock once per listing of an SQS queue's messages in the emulator, not once or twice per message.

moto decides whether each message is visible and whether it is delayed by reading the clock for that
message (`Message.visible`, `Message.delayed`): every ReceiveMessage lists the visible messages, and
every GetQueueAttributes counts the visible, in-flight and delayed ones, so with the 10,000 uploads of a
big `batch --many` waiting in the upload queue each such call read the clock 20,000 to 50,000 times
(about a tenth of the emulator's time while `watch` showed that backlog). Here a listing reads the
clock once and compares each message's `visible_at` and `delayed_until` with that moment, as moto's
properties do (visible after `visible_at`, delayed before `delayed_until`).
"""

from __future__ import annotations

import inspect
from typing import Any, Final

AMENDED: Final = (
    "messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)
"""The properties of moto's sqs Queue replaced here."""


def amended_properties(clock: Any) -> dict[str, property]:  # noqa: ANN401 - moto's unix_time_millis
    """Return the Queue properties that read `clock` (milliseconds) once per call, by name."""

    def messages(queue: Any) -> list[Any]:  # noqa: ANN401 - moto's Queue
        now = clock()
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]  # noqa: SLF001

    def not_visible(queue: Any) -> int:  # noqa: ANN401 - moto's Queue
        now = clock()
        return sum(1 for m in queue._messages if not now > m.visible_at)  # noqa: SLF001

    def delayed(queue: Any) -> int:  # noqa: ANN401 - moto's Queue
        now = clock()
        return sum(1 for m in queue._messages if now < m.delayed_until)  # noqa: SLF001

    return {
        "messages": property(messages),
        "approximate_number_of_messages_not_visible": property(not_visible),
        "approximate_number_of_messages_delayed": property(delayed),
    }


def install() -> None:
    """Amend moto's Queue listings; raise RuntimeError if moto no longer decides visibility as read here."""
    from moto.sqs import models

    visible = vars(models.Message).get("visible")
    delayed = vars(models.Message).get("delayed")
    shaped = (
        all(isinstance(vars(models.Queue).get(name), property) for name in AMENDED)
        and isinstance(visible, property)
        and isinstance(delayed, property)
        and "current_time > self.visible_at" in inspect.getsource(visible.fget)  # type: ignore[arg-type]
        and "current_time < self.delayed_until" in inspect.getsource(delayed.fget)  # type: ignore[arg-type]
        and callable(getattr(models, "unix_time_millis", None))
    )
    if not shaped:
        raise RuntimeError(
            "moto's sqs Message no longer tells visibility by visible_at and delayed_until; "
            "each receive would read the clock once per message"
        )
    for name, amended in amended_properties(models.unix_time_millis).items():  # type: ignore[attr-defined]
        setattr(models.Queue, name, amended)
