"""The tags every SubmitJob carries: the flock's (Project, Team, Contact, WorkloadType) and the job's TAG.

AWS Batch puts them on the job and, with propagateTags, on its ECS task, so AWS Cost Explorer (with these
cost allocation tags activated) groups spend the way `shepard cost` does. A tag Batch would refuse is made
acceptable (characters replaced, cut to length, a reserved `aws:` prefix defused) or left off: a tag
never fails a submission.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Final

from shepard_core import SUBMIT_TAG_SETTINGS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

JOB_TAG_KEY: Final = "ShepardTag"
"""The tag holding the jobs' TAG input, when one TAG covers every job of the submitted array."""
MAX_TAGS: Final = 50
MAX_KEY_CHARACTERS: Final = 128
MAX_VALUE_CHARACTERS: Final = 256
_ALLOWED_PUNCTUATION: Final = frozenset(" _.:/=+-@")
_RESERVED_PREFIX: Final = "aws:"


def _allowed(character: str) -> bool:
    """Return whether Batch's tag pattern (letters, numbers, separators, `_.:/=+-@`) takes `character`."""
    if character in _ALLOWED_PUNCTUATION:
        return True
    return unicodedata.category(character)[0] in {"L", "N", "Z"}


def clean_tag_text(text: str, limit: int) -> str:
    """Return `text` as Batch accepts it: other characters become `_`, at most `limit` characters.

    A leading `aws:` (any case), which AWS reserves, becomes `aws_`.
    """
    cleaned = "".join(c if _allowed(c) else "_" for c in text.strip())
    if cleaned[: len(_RESERVED_PREFIX)].lower() == _RESERVED_PREFIX:
        cleaned = cleaned[:3] + "_" + cleaned[4:]
    return cleaned[:limit]


def flock_tags(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the flock's tags from the scheduler's environment; a tag without a value is left off."""
    tags: dict[str, str] = {}
    for variable, key in SUBMIT_TAG_SETTINGS.items():
        value = clean_tag_text(environ.get(variable, ""), MAX_VALUE_CHARACTERS)
        if value:
            tags[key] = value
    return tags


def submit_tags(flock: Mapping[str, str], job_tags: Iterable[str | None]) -> dict[str, str]:
    """Return the tags of one SubmitJob: the flock's, and ShepardTag when every job has the same TAG."""
    tags = dict(flock)
    distinct = set(job_tags)
    if len(distinct) == 1:
        (only,) = distinct
        value = clean_tag_text(only or "", MAX_VALUE_CHARACTERS)
        if value:
            tags[JOB_TAG_KEY] = value
    return {
        clean_tag_text(key, MAX_KEY_CHARACTERS): value for key, value in list(tags.items())[:MAX_TAGS] if key
    }
