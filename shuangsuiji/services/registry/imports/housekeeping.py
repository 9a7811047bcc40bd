"""Housekeeping of the import stages: the staged rows an import no longer needs.

An import clears its stage when it is applied, fails or is cancelled, but rows can stay
behind: a checking task still writing a batch when its import was cancelled, a process killed
between two steps. `prune_stages` deletes the staged rows of imports in a final state (done,
failed, cancelled) that ended longer than the retention ago, and rows whose import no longer
exists. Rows of an import still being checked, waiting for confirmation or being applied are
never touched. The scheduler runs it (scheduler/housekeeping.py owns the transaction); it
flushes, never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from ....db import ImportJob
from ....db.states import ImportStatus
from .jobs import KINDS

FINAL = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)


def prune_stages(session: Session, *, before: dt.datetime) -> dict[str, int]:
    """Delete the staged rows of imports final since before `before` (and orphaned rows);
    returns the rows deleted per stage table (tables with none are left out)."""
    ended = func.coalesce(ImportJob.applied_at, ImportJob.validated_at, ImportJob.created_at)
    finished = select(ImportJob.id).where(ImportJob.status.in_(FINAL), ended < before)
    deleted: dict[str, int] = {}
    for stage in dict.fromkeys(kind.stage for kind in KINDS.values()):
        orphan = ~exists().where(ImportJob.id == stage.c.import_id)
        result = session.execute(delete(stage).where(or_(stage.c.import_id.in_(finished), orphan)))
        if result.rowcount:
            deleted[stage.name] = result.rowcount
    session.flush()
    return deleted
