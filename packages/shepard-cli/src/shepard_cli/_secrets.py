"""secretify: a folder of files becomes the flock secret's JSON, one base64 value per file name."""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Final

from shepard_core import MAX_FILE_NAME_BYTES

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from pathlib import Path

    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_LIMIT_BYTES: Final = 65536
"""Secrets Manager refuses a SecretString larger than this."""
WARN_FRACTION: Final = 0.8
_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9._@+=,-]+\Z")


def secret_document(folder: Path) -> dict[str, str]:
    """Return {file name: base64 of its bytes} for every file of `folder`; refuse anything else."""
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder", "Give the folder holding your secret files")
    document: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if path.is_dir():
            raise CliError(
                f"{path} is a folder; secrets are plain files only", "Move it out, or zip it into one file"
            )
        check_secret_name(name)
        if not path.is_file():
            raise CliError(f"{path} is not a regular file", "Keep only regular files in the secrets folder")
        document[name] = base64.b64encode(path.read_bytes()).decode("ascii")
    if not document:
        raise CliError(f"{folder} holds no files", "Put the secret files to deploy in it")
    return document


def check_secret_name(name: str) -> None:
    """Raise CliError unless `name` can be a file in every worker's secrets folder."""
    if not _PLAIN_NAME.match(name) or name in {".", ".."}:
        raise CliError(
            f"{name!r} is not a plain file name", "Rename it with letters, digits and . _ - @ + = , only"
        )
    size = len(name.encode())
    if size > MAX_FILE_NAME_BYTES:
        raise CliError(
            f"{name[:40]!r}... is a {size:,}-byte name; a worker's file system holds names of at most "
            f"{MAX_FILE_NAME_BYTES} bytes",
            "Rename it shorter",
        )


def secret_string(document: dict[str, str]) -> str:
    """Return the secret's JSON, or raise CliError when Secrets Manager would refuse its size."""
    text = json.dumps(document, separators=(",", ":"))
    size = len(text.encode())
    if size > SECRET_LIMIT_BYTES:
        biggest = max(document, key=lambda name: len(document[name]))
        raise CliError(
            f"the secret would be {size:,} bytes (base64 makes files a third larger); "
            f"Secrets Manager's limit is {SECRET_LIMIT_BYTES:,} bytes and {biggest!r} is the largest file",
            "Shrink or remove files, or keep large files in S3 and put only a key here",
        )
    return text


def near_limit(text: str) -> bool:
    """Return whether a secret's JSON is close to the Secrets Manager limit."""
    return len(text.encode()) > SECRET_LIMIT_BYTES * WARN_FRACTION


def put_secret(secretsmanager: SecretsManagerClient, secret_id: str, text: str) -> str:
    """Store `text` as the secret's new value and return the version id."""
    try:
        return secretsmanager.put_secret_value(SecretId=secret_id, SecretString=text)["VersionId"]
    except secretsmanager.exceptions.ResourceNotFoundException:
        raise CliError(
            f"there is no secret {secret_id!r}",
            "Check --secret-store or shepard_cli_secret_store in your profile "
            "(the flock's SecretsManagerName)",
        ) from None
