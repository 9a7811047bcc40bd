"""`shuangsuiji plan …` and `shuangsuiji draw …`: commit a plan, run a draw, export and verify
its bundle.

`draw verify` needs neither a database nor a configuration: it re-runs the draw from the
bundle alone (SRDP-1 §8), so an outside auditor can run it on their own machine.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import Plan
from ..domain import bundle as srdp_bundle
from ..edge import today
from ..errors import AppError
from ..services.plans import draws, plans
from ..services.scope import require_admin_of
from .registry import _actor, _db
from .verify import verify_command

AS_OPTION = click.option(
    "--as",
    "username",
    default="admin",
    show_default=True,
    help="The user the step is recorded for (the plan's department admin or the admin).",
)


def _fail(exc: AppError) -> click.ClickException:
    details = [f"{field}：{m}" for field, messages in exc.errors.items() for m in messages]
    return click.ClickException("\n".join([exc.message, *details]) if details else exc.message)


def _plan(session, user, code: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        raise click.ClickException(f"抽查任务 {code} 不存在")
    return plans.get(session, user, plan.id)


@click.group("plan")
def plan_group():
    """抽查任务。"""


@plan_group.command("commit")
@click.argument("code")
@click.option("--reason", help="重新抽取的理由（已抽取的任务再次承诺时必填）")
@AS_OPTION
@with_appcontext
def commit(code, reason, username):
    """Freeze the plan's inputs and publish the commitment (the snapshot digest)."""
    try:
        with _db().transaction() as session:
            user = _actor(session, username)
            c = plans.commit(
                session,
                actor=user,
                plan_id=_plan(session, user, code).id,
                today=today(),
                reason=reason,
            )
            srdp_id, snapshot, sums, secret_sha = (
                c.srdp_id,
                c.snapshot,
                c.sha256sums,
                c.server_secret_sha256,
            )
    except AppError as exc:
        raise _fail(exc) from exc
    click.echo(f"已承诺：{code}（数据包编号 {srdp_id}）")
    click.echo(f"快照摘要 snapshot = {snapshot}")
    click.echo("SHA256SUMS:")
    click.echo(sums, nl=False)
    if secret_sha:
        click.echo(f"服务器密值的哈希 = {secret_sha}")


@click.group("draw")
def draw_group():
    """抽取（SRDP-1）。"""


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        label, sep, value = item.partition("=")
        if not sep or not label:
            raise click.BadParameter(f"{item!r}: expected LABEL=VALUE", param_hint=option)
        pairs[label] = value
    return pairs


def randomness_entries(
    plan_json: bytes,
    digits: str | None,
    witnesses: tuple[str, ...],
    values: dict[str, str],
    sources: dict[str, str],
) -> list[dict]:
    """The typed randomness for the plan's sources: `--digits` fills the (first) dice source,
    `--value LABEL=…` any source; the server secret is added by the draw itself."""
    entries = []
    for source in srdp_bundle.parse_plan(plan_json).randomness:
        if source.kind == "server":
            continue
        value = values.get(source.label)
        if value is None and source.kind == "digits" and digits is not None:
            value, digits = digits, None
        if value is None:
            raise click.ClickException(f"请提供随机源 {source.label}：--value {source.label}=…")
        entry = {"label": source.label, "value": value}
        if source.kind == "digits":
            entry["witnesses"] = list(witnesses)
        elif source.label in sources:
            entry["source"] = sources[source.label]
        entries.append(entry)
    return entries


def _progress(done: int, total: int, message: str) -> None:
    click.echo(f"  {message}…", err=True)


@draw_group.command("run")
@click.argument("code")
@click.option("--digits", help="骰子数字（至少 20 位）")
@click.option("--witness", "witnesses", multiple=True, help="掷骰见证人；可重复")
@click.option("--value", "values", multiple=True, metavar="LABEL=VALUE", help="其他随机源的值")
@click.option("--source", "sources", multiple=True, metavar="LABEL=WHERE", help="公开数值的出处")
@AS_OPTION
@with_appcontext
def run(code, digits, witnesses, values, sources, username):
    """Run the draw of a committed plan now, in this process, and print the result."""
    try:
        with _db().transaction() as session:
            user = _actor(session, username)
            plan = _plan(session, user, code)
            require_admin_of(user, plan.department_id)
            commitment = plans.latest_commitment(session, plan)
            if commitment is None:
                raise click.ClickException(f"抽查任务 {code} 尚未承诺")
            randomness = randomness_entries(
                commitment.plan_json,
                digits,
                witnesses,
                _pairs(values, "--value"),
                _pairs(sources, "--source"),
            )
            draw = draws.execute(
                session,
                actor=user,
                commitment_id=commitment.id,
                randomness=randomness,
                progress=_progress,
            )
            draw_id, srdp_id, seed, summary = (
                draw.id,
                commitment.srdp_id,
                draw.seed,
                draw.summary_doc,
            )
    except AppError as exc:
        raise _fail(exc) from exc
    click.echo(f"抽取完成：抽取结果 #{draw_id}（任务 {code}，数据包编号 {srdp_id}）")
    click.echo(f"种子 S = {seed}")
    click.echo(f"{'分类':<6}{'N':>8}{'k':>8}  门槛号")
    for s in summary.strata:
        click.echo(f"{s.code:<8}{s.N:>8}{s.k:>8}  {s.threshold_ticket or '-'}")
    staffed = summary.drawn * summary.slots - summary.unstaffed
    click.echo(
        f"抽中 {summary.drawn} 户；检查组岗位已配齐 {staffed} 个，未配齐 "
        f"{summary.unstaffed} 个（第二阶段调整 {summary.phase2} 个）"
    )
    click.echo(f"公开页面：/public/draws/{draw_id}")


@draw_group.command("bundle")
@click.argument("draw_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@AS_OPTION
@with_appcontext
def bundle(draw_id, output, username):
    """Write the auditors' bundle of a draw (the four files, SHA256SUMS, manifest.json)."""
    try:
        with _db().transaction() as session:
            _, data = draws.bundle_zip(session, _actor(session, username), draw_id)
    except AppError as exc:
        raise _fail(exc) from exc
    output.write_bytes(data)
    click.echo(f"已写入 {output}（{len(data)} 字节）；复核：shuangsuiji draw verify {output}")


draw_group.add_command(verify_command, "verify")
