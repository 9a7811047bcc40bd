"""The registry of task handlers, and what a handler is given (`TaskContext`).

A handler is `handler(ctx: TaskContext) -> dict` (the task's result), registered for a kind
declared in services/platform/tasks.LABELS. It opens its own transactions through `ctx.db`
(services below it only flush) and reports progress through `ctx.progress()`, which also
raises `Interrupted` when the worker is asked to stop, so that the task is handed back rather
than lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..db import Database, User
from ..services.platform import tasks

HANDLERS: dict[str, Callable[[TaskContext], dict]] = {}


class Interrupted(Exception):
    """The worker is stopping; the task goes back to the queue."""


def handler(kind: str):
    """Register the function that runs tasks of `kind`."""
    if kind not in tasks.LABELS:
        raise ValueError(f"task kind {kind!r} is not declared in services/platform/tasks.LABELS")

    def decorate(func):
        HANDLERS[kind] = func
        return func

    return decorate


@dataclass
class TaskContext:
    db: Database
    task_id: int
    params: dict
    actor_id: int | None
    department_id: int | None
    should_stop: Callable[[], bool]
    config: dict
    # Stores progress on the task row: the worker gives it, in a short transaction of its own.
    report: Callable[[int, int, str], None]
    on_progress: Callable[[int, int, str], None] | None = None

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Store progress on the task row and honour a stop."""
        if self.should_stop():
            raise Interrupted
        if self.on_progress is not None:
            self.on_progress(done, total, message)
        self.report(done, total, message)

    def actor(self, session: Session) -> User | None:
        return session.get(User, self.actor_id) if self.actor_id is not None else None
