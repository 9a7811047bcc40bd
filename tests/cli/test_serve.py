"""The supervisor behind scripts/serve: a child that dies is restarted with a growing delay
while the others keep running; a stop ends every child; none outlives the supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shuangsuiji.cli.serve import Child, Supervisor, main

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import os, signal, sys, time
log, action = sys.argv[1], sys.argv[2]
with open(log, "a") as f:
    f.write(f"{os.getpid()} {time.monotonic()}\\n")
if action == "exit":
    sys.exit(3)
if action == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(log + ".ready", "w"):
        pass
time.sleep(600)
"""


@pytest.fixture
def child(tmp_path):
    """`child(name, action)`: the argv of a child that logs its pid and start time to
    tmp_path/name, then exits with 3 ("exit"), sleeps ("sleep"), or ignores SIGTERM and
    sleeps ("stubborn"); and the log's path."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def make(name: str, action: str) -> tuple[list[str], Path]:
        log = tmp_path / name
        return [sys.executable, str(script), str(log), action], log

    return make


def _starts(log: Path) -> list[tuple[int, float]]:
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines() if line]
    return [(int(pid), float(at)) for pid, at in lines]


def _wait_for(predicate, timeout=30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")  # an exited child not yet reaped is gone too
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_a_child_that_exits_is_restarted_with_backoff_and_the_others_keep_running(child):
    (crasher, crashes), (steady, steady_log) = child("crasher", "exit"), child("steady", "sleep")
    said = []
    supervisor = Supervisor(
        [Child("crasher", crasher), Child("steady", steady)],
        backoff=0.1,
        backoff_max=0.4,
        poll=0.01,
        grace=5,
        say=said.append,
    )
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        assert _wait_for(lambda: len(_starts(crashes)) >= 5), said
        assert len(_starts(steady_log)) == 1  # never restarted, never stopped
        ((steady_pid, _),) = _starts(steady_log)
        assert _alive(steady_pid)
    finally:
        supervisor.stop()
        thread.join(timeout=30)
    times = [at for _, at in _starts(crashes)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    for gap, delay in zip(gaps, [0.1, 0.2, 0.4, 0.4], strict=False):
        assert gap >= delay * 0.9  # doubling, up to the cap
    assert "==> crasher exited (code 3); restarting in 0.1 s" in said
    assert "==> crasher exited (code 3); restarting in 0.4 s" in said
    assert not thread.is_alive() and not _alive(steady_pid)


def test_a_child_that_lived_long_enough_restarts_after_the_first_delay():
    supervisor = Supervisor([], backoff=1.0, backoff_max=30.0, stable=10.0)
    worker = Child("worker", ["true"])
    assert [supervisor.delay_after_death(worker, lived=0.5) for _ in range(3)] == [1.0, 2.0, 4.0]
    assert supervisor.delay_after_death(worker, lived=60.0) == 1.0


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(child):
    argv, log = child("stubborn", "stubborn")
    supervisor = Supervisor([Child("stubborn", argv)], grace=0.5, poll=0.01, say=lambda _: None)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    assert _wait_for(lambda: Path(f"{log}.ready").exists())
    began = time.monotonic()
    supervisor.stop()
    thread.join(timeout=30)
    assert time.monotonic() - began < 10
    ((pid, _),) = _starts(log)
    assert not _alive(pid)


@pytest.fixture
def serve(tmp_path):
    """Start `python -m shuangsuiji.cli.serve` with the given children; its log's path."""
    started = []
    log = tmp_path / "serve.log"

    def start(*children: tuple[str, list[str]]) -> subprocess.Popen:
        args = []
        for name, argv in children:
            args += ["--child", f"{name}={' '.join(argv)}"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "shuangsuiji.cli.serve", "--backoff", "0.1", *args],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stderr=out,
            )
        started.append(process)
        return process

    yield start, log
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_command_restarts_a_killed_child_and_stops_all_on_sigterm(serve, child):
    start, serve_log = serve
    (one, one_log), (two, two_log) = child("one", "sleep"), child("two", "sleep")
    supervisor = start(("one", one), ("two", two))
    assert _wait_for(lambda: _starts(one_log) and _starts(two_log))
    ((first_pid, _),) = _starts(one_log)
    os.kill(first_pid, signal.SIGKILL)
    assert _wait_for(lambda: len(_starts(one_log)) == 2), serve_log.read_text()
    ((two_pid, _),) = _starts(two_log)
    assert _alive(two_pid)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    assert not _alive(_starts(one_log)[-1][0]) and not _alive(two_pid)
    assert "==> one exited (signal SIGKILL); restarting in 0.1 s" in serve_log.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_no_child_outlives_a_killed_supervisor(serve, child):
    start, _ = serve
    argv, log = child("one", "sleep")
    supervisor = start(("one", argv))
    assert _wait_for(lambda: _starts(log))
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(timeout=30)
    ((pid, _),) = _starts(log)
    assert _wait_for(lambda: not _alive(pid), timeout=10)


def test_a_malformed_child_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--child", "no-equals-sign"])
    assert "NAME=COMMAND" in capsys.readouterr().err
