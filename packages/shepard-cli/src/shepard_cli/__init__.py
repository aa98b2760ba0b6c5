"""The shepard command line: deploy code, batch jobs, query them and fetch results."""

from shepard_cli._app import LOCAL_MODULE, ShepardGroup, aws_command, cli, pass_settings
from shepard_cli._aws import Aws, AwsAccess, RoleCache, RoleCredentials
from shepard_cli._commands import main
from shepard_cli._errors import CliError
from shepard_cli._profiles import HOME_VARIABLE, PROFILE_ATTRIBUTES, ProfileStore
from shepard_cli._settings import Settings

__all__ = [
    "HOME_VARIABLE",
    "LOCAL_MODULE",
    "PROFILE_ATTRIBUTES",
    "Aws",
    "AwsAccess",
    "CliError",
    "ProfileStore",
    "RoleCache",
    "RoleCredentials",
    "Settings",
    "ShepardGroup",
    "aws_command",
    "cli",
    "main",
    "pass_settings",
]
