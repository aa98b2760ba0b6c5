"""The emulator and the flock's front door let a burst of new connections wait instead of dropping them."""

from __future__ import annotations

import os
import select
import signal
import socket
import time

import boto3
from shepard_local._control import LOCAL_CREDENTIALS
from shepard_local._server import FlockServer, Routes

BURST = 400
"""More connections than werkzeug's own queue (128) holds, and few enough for a default file limit."""


def _handshakes_done(port: int, count: int) -> int:
    """Open `count` connections at once; return how many the kernel completed within a second."""
    sockets = []
    try:
        for _ in range(count):
            connection = socket.socket()
            connection.setblocking(False)  # noqa: FBT003 - socket's own signature
            connection.connect_ex(("127.0.0.1", port))
            sockets.append(connection)
        done: set[socket.socket] = set()
        deadline = time.monotonic() + 1.0
        while len(done) < count and (left := deadline - time.monotonic()) > 0:
            _, writable, _ = select.select([], [s for s in sockets if s not in done], [], left)
            done |= {s for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0}
        return len(done)
    finally:
        for connection in sockets:
            connection.close()


def test_a_burst_of_connections_waits_while_the_server_is_busy(own_emulator):
    """With the server frozen (accepting nothing), 400 new connections all complete and wait; none is dropped.

    A dropped connection request is sent again only a second later: on a busy flock that second was a
    stall in `watch`, in each worker's step and in the scheduler.
    """
    endpoint, process = own_emulator
    port = int(endpoint.rsplit(":", 1)[1])
    os.kill(process.pid, signal.SIGSTOP)
    try:
        completed = _handshakes_done(port, BURST)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert completed == BURST
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=LOCAL_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    assert "QueueUrls" not in client.list_queues()  # it serves again once running


def test_a_burst_of_connections_waits_for_the_front_door():
    """400 new connections to the front door (the CLI's one endpoint) all wait while it accepts none yet."""
    routes = Routes(
        function_name="endpoint",
        endpoint=lambda _event, _context: None,
        executor=None,  # type: ignore[arg-type] - nothing is served in this test
        stats=dict,
        region="us-east-1",
        upstream="http://127.0.0.1:9",
    )
    server = FlockServer(routes)  # listening, and accepting nothing until started
    try:
        port = int(server.url.rsplit(":", 1)[1])
        assert _handshakes_done(port, BURST) == BURST
    finally:
        server._httpd.server_close()
