"""Fixtures of the shepard-ui tests: a moto flock, the app, clients with or without its token."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from shepard_ui import Flock, Secrets, create_app
from shepard_ui._run_again import load_run_again
from starlette.testclient import TestClient

# The helpers live in a module beside the tests, importable by every test file.
sys.path.insert(0, str(Path(__file__).parent))

from shepard_core import job_table_definition
from ui_testkit import ORIGIN, PORT, Factory, MotoFlock


@pytest.fixture
def flock(aws_endpoint):
    """Make the flock's buckets (versioned, as the template makes them) and table on a fresh moto server."""
    made = MotoFlock(aws_endpoint)
    s3 = made.client("s3")
    for bucket in (made.inputs_bucket, made.outputs_bucket, made.errors_bucket):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made.client("dynamodb").create_table(**job_table_definition(made.table))
    made.queue_url = made.client("sqs").create_queue(QueueName="ui-scheduler")["QueueUrl"]
    return made


@pytest.fixture
def secrets():
    """Return the server's secrets."""
    return Secrets.new()


@pytest.fixture
def app(flock, secrets):
    """Return the guarded app serving the moto flock."""
    return create_app(
        Flock(flock.names(), Factory(flock.endpoint)), secrets, PORT, run_again=load_run_again()
    )


@pytest.fixture
def anonymous(app):
    """Return a client that has not presented the token."""
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser(app, secrets):
    """Return a client that opened the printed URL (it holds the token cookie) and sends the CSRF header."""
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        entered = client.get(f"/?token={secrets.token}")
        assert entered.status_code == 303
        client.headers["X-CSRF-Token"] = secrets.csrf
        yield client
