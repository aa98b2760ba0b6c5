"""The one list of `shepard` commands: name, where its code lives, and its line in `shepard --help`."""

from __future__ import annotations

from typing import Final, NamedTuple


class Entry(NamedTuple):
    """A command: its name, its "module:function" (imported only when it runs), its short help."""

    name: str
    target: str
    summary: str


LOCAL: Final = "local"
"""The `local` group: not in COMMANDS, since the `local` hook of shepard_cli._app finds and loads it."""
LOCAL_SUMMARY: Final = (
    "Run a whole flock on this machine: an AWS emulator, the scheduler code and the worker."
)

_JOBS: Final = "shepard_cli.commands.jobs"
_SUBMIT: Final = "shepard_cli.commands.submit"
_FLOCK: Final = "shepard_cli.commands.flock"
_PROFILES: Final = "shepard_cli.commands.profiles"
_ROLES: Final = "shepard_cli.commands.roles"

COMMANDS: Final = (
    Entry(
        "batch",
        f"{_SUBMIT}:batch",
        "Zip job folders and upload them to the inputs bucket: each zip is one job.",
    ),
    Entry(
        "batch-via-api",
        f"{_SUBMIT}:batch_via_api",
        "Start jobs through the flock's batching endpoint, without uploading a zip.",
    ),
    Entry(
        "query",
        f"{_JOBS}:query",
        "List the flock's jobs: status, start time, zip, and why rejected jobs were refused.",
    ),
    Entry(
        "status", f"{_JOBS}:status", "Show one job: its row (status, inputs, times) and its AWS Batch state."
    ),
    Entry(
        "logs",
        f"{_JOBS}:logs",
        "Print a job's logs from CloudWatch Logs (the stream of its AWS Batch job's latest attempt).",
    ),
    Entry(
        "watch",
        "shepard_cli.commands.watch:watch",
        "Watch the flock's jobs: counts per status, progress, jobs per minute, ETA, newest failures.",
    ),
    Entry(
        "cost",
        "shepard_cli.commands.cost:cost",
        "Estimate what the flock's jobs cost: the total, by TAG and by status.",
    ),
    Entry(
        "ui",
        "shepard_cli.commands.ui:ui",
        "Serve the flock's web app on 127.0.0.1 until Ctrl-C: overview, jobs, batch, logs, results.",
    ),
    Entry(
        "cancel",
        f"{_JOBS}:cancel",
        "Cancel a job that has not ended: its own AWS Batch job, never the other jobs of its array.",
    ),
    Entry(
        "retry",
        "shepard_cli.commands.retry:retry",
        "Run failed or cancelled jobs again, each as a new job made from its original upload.",
    ),
    Entry(
        "retrieve",
        f"{_JOBS}:retrieve",
        "Sync the outputs bucket into a local folder: only new or changed objects are fetched.",
    ),
    Entry(
        "deploy",
        "shepard_cli.commands.deploy:deploy",
        "Build your code into the flock's worker image and push it: new jobs run it.",
    ),
    Entry(
        "build-flock",
        f"{_FLOCK}:build_flock",
        "Create a flock's stack, or update it, from the template; wait for it; show its outputs.",
    ),
    Entry(
        "describe",
        f"{_FLOCK}:describe",
        "Show the flock's stack: status, parameters, outputs, resources and its dashboard's URL.",
    ),
    Entry(
        "secretify",
        f"{_FLOCK}:secretify",
        "Store a folder's files in the flock's secret; jobs find them in $ROOT_INPUT_NAME/secrets.",
    ),
    Entry(
        "configure",
        f"{_PROFILES}:configure",
        "Create or edit a profile by answering prompts (Enter keeps the value shown, '-' clears it).",
    ),
    Entry(
        "check-profile",
        f"{_PROFILES}:check_profile",
        "List the profiles (the current one underlined) and show the current one's attributes.",
    ),
    Entry("set-profile", f"{_PROFILES}:set_profile", "Make a profile the current one."),
    Entry(
        "delete-profile",
        f"{_PROFILES}:delete_profile",
        "Delete a profile (if it is the current one, no profile is current afterwards).",
    ),
    Entry(
        "where-am-i",
        f"{_PROFILES}:where_am_i",
        "Print the folder holding the profiles (set SHEPARD_CLI_HOME to move it); files dropped in are used.",
    ),
    Entry(
        "clear-profile-config",
        f"{_PROFILES}:clear_profile_config",
        "Unset the current profile; the profiles themselves stay.",
    ),
    Entry(
        "set-role",
        f"{_ROLES}:set_role",
        "Assume the role once (with MFA if given) and use it for every command until it expires.",
    ),
    Entry(
        "release-role",
        f"{_ROLES}:release_role",
        "Forget the role set with set-role; commands use your own credentials again.",
    ),
    Entry(
        "check-role",
        f"{_ROLES}:check_role",
        "Say whether a role is set and, if so, its account, name and expiry.",
    ),
    Entry(
        "check-update",
        "shepard_cli.commands.update:check_update",
        "Say whether a newer shepard-cli is published on PyPI.",
    ),
    Entry("help", "shepard_cli.commands.help:help_", "Show this list of commands."),
)
"""Every command of `shepard` except `local`; adding a command means adding its line here."""

BY_NAME: Final = {entry.name: entry for entry in COMMANDS}

ALIASES: Final = {"update": "check-update"}
"""Names the original Shepard CLI (ginkgobioworks/shepard) used for a command that now has another name."""
