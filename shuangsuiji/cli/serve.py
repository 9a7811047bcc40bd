"""A small process supervisor for `scripts/serve`: start the children, restart one that dies.

    python -m shuangsuiji.cli.serve --child "worker=.venv/bin/shuangsuiji worker run" \\
                                    --child "web=.venv/bin/gunicorn wsgi:app" …

Each child (gunicorn, the worker, the scheduler, the outbox dispatcher) runs in a session of
its own; when one exits while the supervisor is not stopping, it is started again after a
delay that doubles with each quick death (`--backoff` seconds, at most `--backoff-max`), and
goes back to `--backoff` once the child has lived `--stable` seconds. The other children
carry on meanwhile: one process dying never stops the service. SIGINT (Ctrl-C) or SIGTERM
stops the supervisor: every child gets SIGTERM (the worker hands its task back), and SIGKILL
after `--grace` seconds. A child also gets SIGTERM should the supervisor itself die.

Production runs each process as a systemd service instead (config/systemd/).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover (runs in the child, between fork and exec)
    """Linux: the child gets SIGTERM when the supervisor dies, so none is left orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # when a dead child is due to start again
    failures: int = 0  # quick deaths in a row
    starts: int = 0


@dataclass
class Supervisor:
    children: list[Child]
    backoff: float = 1.0
    backoff_max: float = 30.0
    stable: float = 30.0  # a child that lived this long died of something new: no backoff
    grace: float = 30.0
    poll: float = 0.2
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    stopping: threading.Event = field(default_factory=threading.Event)

    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame):
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def stop(self) -> None:
        self.stopping.set()

    def start(self, child: Child) -> None:
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        child.process = subprocess.Popen(  # noqa: S603 (the commands are the operator's)
            child.argv, start_new_session=True, preexec_fn=preexec
        )
        child.started_at, child.restart_at = time.monotonic(), None
        child.starts += 1

    def delay_after_death(self, child: Child, lived: float) -> float:
        if lived >= self.stable:
            child.failures = 0
        delay = min(self.backoff_max, self.backoff * 2**child.failures)
        child.failures += 1
        return delay

    def check(self, child: Child) -> None:
        """Notice a child that died and schedule its restart; restart it when it is due."""
        now = time.monotonic()
        if child.process is not None:
            code = child.process.poll()
            if code is None:
                return
            child.process = None
            delay = self.delay_after_death(child, now - child.started_at)
            child.restart_at = now + delay
            self.say(f"==> {child.name} exited ({_describe(code)}); restarting in {delay:g} s")
        elif child.restart_at is not None and now >= child.restart_at:
            self.start(child)
            self.say(f"==> {child.name} restarted (pid {child.process.pid})")

    def run(self) -> int:
        for child in self.children:
            self.start(child)
        while not self.stopping.is_set():
            for child in self.children:
                self.check(child)
            self.stopping.wait(self.poll)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        self.say("==> stopping")
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self.grace
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _child(spec: str) -> Child:
    name, sep, command = spec.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=COMMAND, got {spec!r}")
    return Child(name.strip(), shlex.split(command))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shuangsuiji.cli.serve",
        description="Run the service's processes; restart any that dies.",
    )
    parser.add_argument(
        "--child", type=_child, action="append", required=True, metavar="NAME=COMMAND"
    )
    parser.add_argument("--backoff", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--backoff-max", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--stable", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    supervisor = Supervisor(
        args.child,
        backoff=args.backoff,
        backoff_max=args.backoff_max,
        stable=args.stable,
        grace=args.grace,
    )
    supervisor.install_signal_handlers()
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
