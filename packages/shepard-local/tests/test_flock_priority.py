"""The flock's processes, and every thread and process they start, run below the user's CPU priority."""

from __future__ import annotations

import os
import sys

from shepard_local._control import spawn

CHILD = """
import os, threading, time
time.sleep(0.3)
found = {}
def record():
    found["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
thread = threading.Thread(target=record)
thread.start()
thread.join()
child = os.fork()
if child == 0:
    print("forked", os.getpriority(os.PRIO_PROCESS, 0), flush=True)
    os._exit(0)
os.waitpid(child, 0)
print("main", os.getpriority(os.PRIO_PROCESS, 0), "thread", found["thread"], flush=True)
"""


def test_a_spawned_process_its_threads_and_forks_run_lower(tmp_path):
    """Spawned 7 below: its main thread, a thread it starts and a process it forks all run 7 below."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    log = tmp_path / "child.log"
    process = spawn([sys.executable, "-c", CHILD], log, dict(os.environ), niceness=7)
    assert process.wait(timeout=30) == 0
    lowered = min(own + 7, 19)
    assert sorted(log.read_text().splitlines()) == [f"forked {lowered}", f"main {lowered} thread {lowered}"]


def test_niceness_zero_leaves_the_priority_alone(tmp_path):
    """With niceness 0 the process runs at the caller's own priority."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    log = tmp_path / "child.log"
    process = spawn([sys.executable, "-c", "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"], log, {})
    assert process.wait(timeout=30) == 0
    assert log.read_text().strip() == str(own)
