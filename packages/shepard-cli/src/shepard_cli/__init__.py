"""The shepard command line: deploy code, batch jobs, query them and fetch results."""

from shepard_cli._app import LOCAL_MODULE, ShepardGroup, aws_command, cli, pass_settings
from shepard_cli._aws import Aws, AwsAccess, RoleCache, RoleCredentials, assume_role, role_arn_for
from shepard_cli._batch import JobSpec, batch_jobs, jobs_from_tsv, read_job, zip_job, zip_key
from shepard_cli._commands import main
from shepard_cli._deploy import Registry, deploy, ecr_registry, find_dockerfile, nested_dockerfile
from shepard_cli._describe import describe_stack
from shepard_cli._errors import CliError
from shepard_cli._jobs import JobView, cancel_job, follow_logs, invoke_endpoint, job_status, list_jobs
from shepard_cli._profiles import HOME_VARIABLE, PROFILE_ATTRIBUTES, ProfileStore
from shepard_cli._retrieve import SyncResult, sync
from shepard_cli._secrets import put_secret, secret_document, secret_string
from shepard_cli._settings import Settings
from shepard_cli._update import is_newer, latest_version

__all__ = [
    "HOME_VARIABLE",
    "LOCAL_MODULE",
    "PROFILE_ATTRIBUTES",
    "Aws",
    "AwsAccess",
    "CliError",
    "JobSpec",
    "JobView",
    "ProfileStore",
    "Registry",
    "RoleCache",
    "RoleCredentials",
    "Settings",
    "ShepardGroup",
    "SyncResult",
    "assume_role",
    "aws_command",
    "batch_jobs",
    "cancel_job",
    "cli",
    "deploy",
    "describe_stack",
    "ecr_registry",
    "find_dockerfile",
    "follow_logs",
    "invoke_endpoint",
    "is_newer",
    "job_status",
    "jobs_from_tsv",
    "latest_version",
    "list_jobs",
    "main",
    "nested_dockerfile",
    "pass_settings",
    "put_secret",
    "read_job",
    "role_arn_for",
    "secret_document",
    "secret_string",
    "sync",
    "zip_job",
    "zip_key",
]
