"""The public look-up limit holds across gunicorn workers when the limiter's storage is Redis.

Flask-Limiter's memory:// storage counts per worker process: two workers would let twice the
limit through. This starts gunicorn with two workers on a scratch SQLite database and Redis at
127.0.0.1:6379, fires concurrent look-ups, and checks that both workers answered and that
exactly the limit got through.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command

from shuangsuiji.cli.db import alembic_config

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)
LIMIT = 6


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(not _redis_reachable(), reason="Redis at 127.0.0.1:6379 is unreachable")
def test_the_lookup_limit_holds_across_two_gunicorn_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    command.upgrade(alembic_config(url), "head")
    port = _free_port()
    env = os.environ | {
        "SHUANGSUIJI_ENV": "testing",
        "DATABASE_URL": url,
        "SHUANGSUIJI_DATABASE_URL": url,
        "SHUANGSUIJI_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "SHUANGSUIJI_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
        "SHUANGSUIJI_PUBLIC_SEARCH_RATE_LIMIT": f"{LIMIT} per minute",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PORT": str(port),
    }
    log = tmp_path / "access.log"
    errors = tmp_path / "gunicorn.err"
    stderr = errors.open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%(p)s %(s)s %(U)s",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        # Both workers booted and serving: otherwise the first would answer everything.
        while len(_booted(log)) < 2:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(_get_or_none, [f"{base}/livez"] * 4))
            assert server.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        lookup = f"{base}/api/v1/public/results?q=%E4%BC%81%E4%B8%9A"  # q=企业
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(_get, [lookup] * (LIMIT * 5)))
    finally:
        server.terminate()
        server.wait(20)
        stderr.close()
    assert codes.count(200) == LIMIT, codes
    assert codes.count(429) == LIMIT * 4, codes
    pids = {
        m.group(1)
        for m in re.finditer(r"^<(\d+)> \d+ /api/v1/public/results$", log.read_text(), re.M)
    }
    assert len(pids) == 2, f"one worker answered everything: {log.read_text()[-2000:]}"


def _booted(log: Path) -> set[str]:
    """Workers that have answered /livez (each worker is warmed up by its first request)."""
    return (
        set(re.findall(r"^<(\d+)> 200 /livez$", log.read_text(), re.M)) if log.exists() else set()
    )


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)
    except OSError:
        return None
