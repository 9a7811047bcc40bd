"""`shuangsuiji scheduler …`: the process that draws recurring plans' batches on time."""

from __future__ import annotations

import datetime as dt
import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ..scheduler import Scheduler
from ..services.plans import batches


@click.group("scheduler")
def group():
    """周期任务调度进程。"""


def _parse_now(value: str | None):
    if value is None:
        return None
    try:
        now = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("expected an ISO 8601 time with its offset") from exc
    if now.tzinfo is None:
        raise click.BadParameter("give the offset, e.g. 2026-12-01T10:00+08:00")
    return now.astimezone(dt.UTC)


@group.command("run")
@click.option("--once", is_flag=True, help="Draw what is due now, print it and exit.")
@click.option(
    "--now",
    "now_text",
    metavar="ISO-TIME",
    help="Act as if it were this time (with its offset); for tests and rehearsals.",
)
@with_appcontext
def run(once, now_text):
    """Draw every due batch, then keep drawing them on time until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    now = _parse_now(now_text)
    clock = (lambda: now) if now is not None else None
    kwargs = {"clock": clock} if clock else {}
    scheduler = Scheduler(current_app.extensions["shuangsuiji.db"], current_app.config, **kwargs)
    if once:
        for o in scheduler.ensure_due():
            line = f"{o.plan_id}\t{o.key}\t{o.result}"
            if o.draw_id:
                line += f"\tdraw={o.draw_id}"
            if o.error:
                line += f"\t{o.error}"
            click.echo(line)
        return
    scheduler.install_signal_handlers()
    scheduler.start()


@group.command("housekeep")
@with_appcontext
def housekeep():
    """Expire the messages no gateway collects, delete old outbox messages and finished
    imports' staged rows now (the running scheduler does this on its own), print the counts."""
    scheduler = Scheduler(current_app.extensions["shuangsuiji.db"], current_app.config)
    report = scheduler.housekeep(force=True)
    for channel, count in report.expired.items():
        click.echo(f"过期未发送\t{channel}\t{count}")
    click.echo(f"删除消息\t{report.pruned_messages}")
    for table, count in report.pruned_stage_rows.items():
        click.echo(f"删除暂存行\t{table}\t{count}")


@group.command("status")
@with_appcontext
def status():
    """List each active plan's next due batch (Beijing time)."""
    config = current_app.config
    timing = batches.Timing.from_config(config)
    db = current_app.extensions["shuangsuiji.db"]
    now = dt.datetime.now(dt.UTC)
    with db.transaction(write=False) as session:
        upcoming = batches.next_due(session, now, timing)
        due_now = batches.due(session, now, timing)
    for plan_id, entry, _ in due_now:
        click.echo(f"{plan_id}\t{entry.period.key}\t到期未抽取")
    for plan_id, when in sorted(upcoming.items()):
        click.echo(f"{plan_id}\t下一批 {when.astimezone(timing.tz):%Y-%m-%d %H:%M}")
