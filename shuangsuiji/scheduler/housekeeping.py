"""The scheduler's housekeeping job: expire the messages no gateway collects, delete the
outbox messages and the import stage rows nobody needs any more, and log the counts.

Each step runs in its own transaction, owned here; the services (services/platform/outbox.py,
services/registry/imports/housekeeping.py) only flush. Nothing the audit trail, the publication
or the credit feed reads is touched: audit entries, results, draws and credit events are never
deleted; queued messages only ever expire (kept, marked as not sent); import batches keep their
report and rejected rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from ..db import Database
from ..services.platform import outbox
from ..services.registry.imports import housekeeping as import_housekeeping

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Report:
    expired: dict[str, int]  # channel → messages given up
    pruned_messages: int
    pruned_stage_rows: dict[str, int]  # stage table → rows deleted


def run(
    db: Database,
    *,
    settings: outbox.Settings,
    stage_retention: dt.timedelta,
    now: dt.datetime,
) -> Report:
    with db.transaction() as session:
        expired = outbox.expire_waiting(session, settings=settings, now=now)
    with db.transaction() as session:
        pruned = outbox.prune(session, settings=settings, now=now)
    with db.transaction() as session:
        staged = import_housekeeping.prune_stages(session, before=now - stage_retention)
    report = Report(expired, pruned, staged)
    log.info(
        "housekeeping: expired messages %s, deleted messages %s, deleted import stage rows %s",
        sum(expired.values()),
        pruned,
        sum(staged.values()),
    )
    for channel, count in expired.items():
        log.info("housekeeping: %s %s messages expired (not sent)", count, channel)
    for table, count in staged.items():
        log.info("housekeeping: %s rows deleted from %s", count, table)
    return report
