"""The processes of a checking pool exit when the process that started them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; its new parent reaps it when it will


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_pool_processes_exit_when_their_parent_is_killed(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.services.registry.orphan_pool", str(tmp_path)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "ready").exists() or len(list(tmp_path.glob("*.pid"))) < 2:
            assert parent.poll() is None, "the pool's parent ended early"
            assert time.monotonic() < deadline, "the pool never started two processes"
            time.sleep(0.1)
        children = _children(parent.pid)  # the pool's processes and the resource tracker
        pool = {int(p.stem) for p in tmp_path.glob("*.pid")}
        assert pool <= children
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(map(_alive, children)):
        time.sleep(0.1)
    left = sorted(pid for pid in children if _alive(pid))
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert left == [], "processes left running after their parent was killed"
