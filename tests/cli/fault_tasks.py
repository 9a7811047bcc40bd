"""Task kinds for the worker fault tests, registered in the worker subprocess they start
(`python -c "import tests.cli.fault_tasks; …"`), never in the test process itself."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sqlalchemy import text

from shuangsuiji.services.platform import tasks
from shuangsuiji.worker.handlers import handler

tasks.LABELS["test.fatal"] = "杀死进程的任务"
tasks.LABELS["test.sleep_once"] = "第一次执行时长时间占用数据库连接的任务"


@handler("test.fatal")
def fatal(ctx) -> dict:
    """What a hostile file did to the worker: the process dies in the middle of the task."""
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


@handler("test.sleep_once")
def sleep_once(ctx) -> dict:
    """The first run sits in a long statement (for the test to terminate its connection);
    the next run completes."""
    marker = Path(ctx.params["marker"])
    first = not marker.exists()
    marker.touch()
    if first:
        ctx.progress(0, 1, "等待")
        with ctx.db.transaction() as session:
            session.execute(text("SELECT pg_sleep(60)"))
    return {"first": first}
