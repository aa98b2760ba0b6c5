"""Lay out a job's inputs: the input zip, the quick-deploy folder and the secrets as files."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from shepard_core import UnusablePathError, error_code, folder_parts, input_zip_file_name

from shepard_worker._errors import QuickDeployStagingError, SecretNameError, StagingError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger(__name__)

SECRETS_DIR_NAME = "secrets"
RUN_SCRIPT = "run.sh"


def staged_zip_name(key: str) -> str:
    """Return the file name the input zip with object key `key` is staged under, or raise StagingError.

    It is the key's last part (core's `input_zip_file_name`), so `$ROOT_INPUT_NAME/$INPUT_ZIP_NAME` is
    always a file directly in the input folder, whatever folders, `.` or `..` the key holds.
    """
    try:
        return input_zip_file_name(key)
    except UnusablePathError as exc:
        raise StagingError(str(exc)) from None


def _progress(check: Callable[[], None] | None) -> Callable[[int], None] | None:
    """Return a download progress callback that calls `check` (which raises to abandon the download)."""
    if check is None:
        return None
    return lambda _bytes: check()


def download_input_zip(  # noqa: PLR0913 - the object, where it goes, and the stop check
    s3: S3Client,
    bucket: str,
    key: str,
    input_dir: Path,
    check: Callable[[], None] | None = None,
    *,
    version_id: str | None = None,
) -> Path:
    """Download the job's input zip (that version, when given) to `input_dir`/<the key's file name>.

    Return the path. `check` is called as data arrives; whatever it raises abandons the download.
    """
    target = input_dir / staged_zip_name(key)
    source = f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")
    extra = {"VersionId": version_id} if version_id else None
    try:
        s3.download_file(bucket, key, str(target), ExtraArgs=extra, Callback=_progress(check))
    except ClientError as exc:
        raise StagingError(f"could not download the input zip {source}: {error_code(exc) or exc}") from None
    except OSError as exc:
        raise StagingError(f"could not write the input zip to {target}: {exc}") from None
    log.info("input zip %s -> %s", source, target)
    return target


def _relative_parts(path: str, what: str) -> tuple[str, ...]:
    """Return the parts of a relative path (core's `folder_parts`), or raise QuickDeployStagingError."""
    try:
        return folder_parts(path, what)
    except UnusablePathError as exc:
        raise QuickDeployStagingError(str(exc)) from None


def fetch_quick_deploy(
    s3: S3Client,
    bucket: str | None,
    directory: str,
    input_dir: Path,
    check: Callable[[], None] | None = None,
) -> Path:
    """Download the folder `directory` of the quick-deploy bucket into `input_dir`; return the folder.

    The folder must hold a `run.sh`. Every object key is checked to stay inside the folder. `check`
    is called before each file and as data arrives; whatever it raises abandons the download.
    """
    if bucket is None:
        raise QuickDeployStagingError(
            "QUICK_DEPLOY_DIRECTORY is set but this flock has no quick-deploy bucket "
            "(SHEPARD_QUICK_DEPLOY_BUCKET)"
        )
    parts = _relative_parts(directory, "QUICK_DEPLOY_DIRECTORY")
    prefix = "/".join(parts) + "/"
    target = input_dir.joinpath(*parts)
    count = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                relative = key[len(prefix) :]
                if not relative or relative.endswith("/"):
                    continue  # a folder marker
                destination = target.joinpath(*_relative_parts(relative, "quick-deploy object"))
                destination.parent.mkdir(parents=True, exist_ok=True)
                if check is not None:
                    check()
                s3.download_file(bucket, key, str(destination), Callback=_progress(check))
                count += 1
    except ClientError as exc:
        raise QuickDeployStagingError(
            f"could not fetch s3://{bucket}/{prefix}: {error_code(exc) or exc}"
        ) from None
    except OSError as exc:
        raise QuickDeployStagingError(f"could not write the quick-deploy folder to {target}: {exc}") from None
    if count == 0:
        raise QuickDeployStagingError(
            f"QUICK_DEPLOY_DIRECTORY {directory!r}: the quick-deploy bucket {bucket} has no folder {prefix}"
        )
    if not (target / RUN_SCRIPT).is_file():
        raise QuickDeployStagingError(
            f"QUICK_DEPLOY_DIRECTORY {directory!r}: s3://{bucket}/{prefix} has no {RUN_SCRIPT}"
        )
    log.info("quick-deploy folder s3://%s/%s -> %s (%d files)", bucket, prefix, target, count)
    return target


def _check_secret_name(name: str) -> None:
    """Raise SecretNameError unless `name` can be one file in the secrets folder (core's path rules)."""
    problem: str | None = None
    if any(c in name for c in "/\\\0") or name != name.strip():
        problem = "it is not one plain file name (no '/', '\\', NUL, leading or trailing spaces)"
    else:
        try:
            folder_parts(name, "secret")
        except UnusablePathError as exc:
            problem = "it " + str(exc).removeprefix(f"secret {name!r} ")
    if problem is not None:
        raise SecretNameError(
            f"secret {name!r} cannot be a file name in the secrets folder: {problem}; "
            "rename it and run `shepard secretify` again"
        )


def _decode_secret(name: str, value: object) -> bytes:
    _check_secret_name(name)
    if not isinstance(value, str):
        raise StagingError(f"secret {name!r} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise StagingError(f"secret {name!r} is not valid base64") from None


def write_secrets(client: SecretsManagerClient, store: str | None, root_input_dir: Path) -> Path:
    """Rebuild the secret store's files (name -> base64 content) in `ROOT_INPUT_NAME/secrets`, mode 0600.

    A store that does not exist (or is not configured) leaves the folder empty. The folder must not
    exist yet: an input zip or quick-deploy folder named `secrets` is refused rather than mixed in.
    """
    secrets_dir = root_input_dir / SECRETS_DIR_NAME
    try:
        secrets_dir.mkdir(mode=0o700)
    except FileExistsError:
        raise StagingError(
            f"{secrets_dir} is where the secret files go, but the input zip or the "
            "QUICK_DEPLOY_DIRECTORY folder is already there: give it another name than 'secrets'"
        ) from None
    if store is None:
        return secrets_dir
    try:
        response = client.get_secret_value(SecretId=store)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            log.warning("secret store %s does not exist; the secrets folder stays empty", store)
            return secrets_dir
        raise StagingError(f"could not read secret store {store}: {error_code(exc) or exc}") from None
    raw = response.get("SecretString")
    if raw is None or not raw.strip():
        return secrets_dir
    try:
        secrets = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StagingError(f"secret store {store} does not hold a JSON object: {exc.msg}") from None
    if not isinstance(secrets, dict):
        raise StagingError(f"secret store {store} does not hold a JSON object of file name -> base64")
    decoded = {name: _decode_secret(name, value) for name, value in secrets.items()}
    for name, content in decoded.items():
        try:
            fd = os.open(secrets_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        except OSError as exc:
            raise SecretNameError(f"secret {name!r} could not be written to {secrets_dir}: {exc}") from None
    log.info("%d secrets written to %s", len(decoded), secrets_dir)
    return secrets_dir
