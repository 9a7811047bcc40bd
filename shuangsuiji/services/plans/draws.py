"""Draws (抽取): run SRDP-1 on a commitment, store the result for good, replace inspectors.

The draw runs as a background task (`draw.run` in worker/draws.py, which owns the
transaction; this module only flushes). Its result is stored twice: row by row
(draw_entities, draw_assignments) for the console, and as the manifest (SRDP-1 §7) for
auditors. Nothing here updates or deletes a draw; the database refuses it anyway. A commitment
has at most one draw (unique constraint): two clerks pressing the button at once get one draw.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ... import __version__
from ...db import (
    Commitment,
    Draw,
    DrawAssignment,
    DrawEntity,
    DrawReplacement,
    Entity,
    Inspector,
    Plan,
    PlanBatch,
    Task,
    User,
    bulk,
    utcnow,
)
from ...db.states import JobStatus, PlanStatus
from ...domain import bundle as srdp_bundle
from ...domain import chain, srdp
from ...domain.periods import period_of, periods
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, Order, decode_cursor, encode_cursor
from ..platform import audit, tasks
from ..scope import (
    audits,
    get_visible,
    is_inspector,
    names_team,
    require_admin_of,
    sees_strata,
)
from . import commitments, eligibility, notices, plans, settings, tallies

SOFTWARE = {"name": "shuangsuiji", "version": __version__}
REPLACEMENT_REASONS = {
    "CONFLICT": "发现回避情形",
    "ILLNESS": "因病",
    "LEAVE": "休假或公出",
    "LEFT": "调离",
    "OTHER": "其他",
}
_CHUNK = 5000


# -- reading -------------------------------------------------------------------------------


def get(session: Session, actor: User, draw_id: int, *, whole: bool = False) -> Draw:
    """The draw if the actor may read its plan (a joint plan's participants too); `whole`:
    only for those who see every department's part (the manifest, the bundle)."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFound("抽取结果不存在")
    try:
        plan = plans.get(session, actor, draw.plan_id)
    except NotFound:
        raise NotFound("抽取结果不存在") from None
    if whole and not plans.sees_all_of(actor, plan):
        raise NotFound("抽取结果不存在")
    return draw


def superseded_by(session: Session, draw: Draw) -> Draw | None:
    return session.scalar(select(Draw).where(Draw.supersedes_id == draw.id))


def current_draw(session: Session, plan: Plan) -> Draw | None:
    """The plan's draw that no redraw has replaced (a recurring plan's latest batch's)."""
    return session.scalar(
        select(Draw)
        .where(Draw.plan_id == plan.id, Draw.id.in_(eligibility.live_draws()))
        .order_by(Draw.id.desc())
        .limit(1)
    )


def current_draw_ids(session: Session, plan_ids: list[int]) -> dict[int, int]:
    """current_draw's id for each of a page of plans, in one statement (plan id → draw id;
    plans without a draw are absent)."""
    if not plan_ids:
        return {}
    rows = session.execute(
        select(Draw.plan_id, func.max(Draw.id))
        .where(Draw.plan_id.in_(plan_ids), Draw.id.in_(eligibility.live_draws()))
        .group_by(Draw.plan_id)
    )
    return dict(rows.all())


def is_public(plan: Plan, today: dt.date, *, fieldwork_end: dt.date | None = None) -> bool:
    """Whether the seed and the drawn list may be shown to the public (SRDP-1 §1.4).
    `fieldwork_end`: a batch's own (the end of its period) instead of the plan's."""
    if plan.publish_mode == "immediate" or plan.status == PlanStatus.CLOSED:
        return True
    end = fieldwork_end or plan.fieldwork_end
    return end is not None and today > end


# -- running a draw ------------------------------------------------------------------------


def _randomness_values(plan_json: bytes, given: list[dict], secret: str | None):
    """The plan's sources with the values typed in (the server secret added here)."""
    splan = srdp_bundle.parse_plan(plan_json)
    values = []
    by_label = {}
    for entry in given:
        label = str(entry.get("label", ""))
        if label in by_label:
            raise Invalid(f"随机源 {label} 重复", errors={"randomness": [f"{label} 重复"]})
        by_label[label] = entry
    for source in splan.randomness:
        entry = by_label.pop(source.label, None)
        if source.kind == "server":
            values.append(srdp.RandomnessValue(source.label, secret or "", {}))
            continue
        if entry is None:
            raise Invalid(
                f"缺少随机源 {source.label}", errors={"randomness": [f"请填写 {source.label}"]}
            )
        provenance = {}
        if source.kind == "digits":
            witnesses = [str(w).strip() for w in entry.get("witnesses") or [] if str(w).strip()]
            if len(witnesses) < 1:
                raise Invalid("掷骰须有见证人", errors={"witnesses": ["请填写至少一名见证人姓名"]})
            provenance["witnesses"] = witnesses
        elif entry.get("source"):
            provenance["source"] = str(entry["source"]).strip()[:200]
        values.append(srdp.RandomnessValue(source.label, str(entry.get("value", "")), provenance))
    if by_label:
        raise Invalid(f"计划未设置随机源 {'、'.join(sorted(by_label))}")
    try:
        return srdp.canonical_randomness(splan, values)
    except srdp.RandomnessError as exc:
        raise Invalid(_randomness_message(str(exc)), errors={"randomness": [str(exc)]}) from exc


def _randomness_message(detail: str) -> str:
    if "digits" in detail or "min_len" in detail or "at least" in detail:
        return f"骰子数字不符合要求（只能是数字 0–9，且不少于规定位数）：{detail}"
    return f"随机数值不符合要求：{detail}"


def request(session: Session, *, actor: User, plan_id: int, randomness: list[dict]):
    """Check the typed randomness and queue the draw task (committed plans only).

    The plan's row is locked first, so of requests made at the same moment one queues the
    task and the others, once it has committed, see it and are refused (Conflict)."""
    plan = plans.get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    plan = plans.lock(session, plan)
    if plan.status != PlanStatus.COMMITTED:
        raise Conflict(f"任务状态为“{plans.STATUS_LABELS[plan.status]}”，不能抽取")
    commitment = plans.latest_commitment(session, plan)
    if session.scalar(select(Draw.id).where(Draw.commitment_id == commitment.id)):
        raise Conflict("本次承诺已经抽取过")
    if pending_request(session, commitment.id) is not None:
        raise Conflict("本次承诺的抽取已在进行中")
    values = _randomness_values(commitment.plan_json, randomness, commitment.server_secret)
    entries = [{"label": v.label, "value": v.value, **v.provenance} for v in values]
    task = tasks.enqueue(
        session,
        kind="draw.run",
        params={"commitment_id": commitment.id, "randomness": _public_entries(entries, plan)},
        actor=actor,
        department_id=plan.department_id,
    )
    return task


def pending_request(session: Session, commitment_id: int) -> Task | None:
    """The queued or running draw task of a commitment, if any: a second request is refused
    (`request` holds the plan's lock while it looks; the unique constraint on draws is the
    last guard)."""
    for task in session.scalars(
        select(Task).where(
            Task.kind == "draw.run", Task.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
        )
    ):
        if task.parameters.get("commitment_id") == commitment_id:
            return task
    return None


def _public_entries(entries: list[dict], plan: Plan) -> list[dict]:
    """Task params are shown in the console: leave the server secret out (added at run)."""
    kinds = {s["label"]: s["kind"] for s in settings.config(plan)["randomness"]}
    return [e for e in entries if kinds.get(e["label"]) != "server"]


def execute(
    session: Session,
    *,
    actor: User | None,
    commitment_id: int,
    randomness: list[dict],
    progress=None,
) -> Draw:
    """Run the draw of a commitment and store it, flushed into the caller's transaction (the
    `draw.run` task in worker/draws.py, or a batch job of the scheduler).

    A batch commitment of a recurring plan (`batch_key` set) is drawn while the plan is active;
    the plan stays active, and a redraw supersedes only the draw of the same batch."""
    commitment = session.get(Commitment, commitment_id)
    plan = commitment.plan
    batch = commitment.batch_key
    if plan.status != (PlanStatus.ACTIVE if batch else PlanStatus.COMMITTED):
        raise Conflict(f"任务状态为“{plans.STATUS_LABELS[plan.status]}”，不能抽取")
    if progress:
        progress(0, 3, "正在抽取")
    values = _randomness_values(commitment.plan_json, randomness, commitment.server_secret)
    result = srdp.draw(commitments.commitment_files(commitment), values)
    if progress:
        progress(1, 3, "正在保存抽取结果")
    previous = session.scalar(
        select(Draw)
        .where(
            Draw.plan_id == plan.id,
            Draw.id.in_(eligibility.live_draws()),
            Draw.batch_key.is_(None) if batch is None else Draw.batch_key == batch,
        )
        .order_by(Draw.id.desc())
    )
    summary = {
        "strata": [
            {"code": s.code, "N": s.n, "k": s.k, "threshold_ticket": s.threshold_ticket}
            for s in result.sample.strata
        ],
        "drawn": len(result.sample.drawn),  # not-a-state: a count
        "slots": result.assignment.n_slots,
        "unstaffed": len(result.assignment.unstaffed),
        "phase2": sum(1 for r in result.assignment.rows if r.phase == 2),
    }
    manifest = srdp.manifest(result, committed_at=commitment.committed_at, software=SOFTWARE)
    draw = Draw(
        plan_id=plan.id,
        commitment_id=commitment.id,
        supersedes_id=previous.id if previous else None,
        batch_key=batch,
        reason=commitment.reason if previous else None,
        randomness=json.dumps(manifest["randomness"], ensure_ascii=False),
        seed=result.seed,
        sample_sha256=manifest["sample_sha256"],
        assignment_sha256=manifest["assignment_sha256"],
        summary=json.dumps(summary, ensure_ascii=False, sort_keys=True),
        manifest=json.dumps(manifest, ensure_ascii=False, sort_keys=True),
        created_by_id=actor.id if actor else None,
    )
    session.add(draw)
    try:
        session.flush()
    except IntegrityError as exc:
        if batch is not None:
            raise Conflict("本批次已经抽取过", errors={"batch_key": [batch]}) from exc
        raise Conflict("本次承诺已经抽取过") from exc
    _store_rows(session, draw, plan, result)
    if batch is None:
        plan.status = PlanStatus.DRAWN
    session.flush()
    tallies.draw_made(session, draw, previous)
    notices.notify_assignments(session, draw)
    if progress:
        progress(2, 3, "正在记录审计日志")
    audit.record(
        session,
        actor=actor,
        action="draws.run",
        object_type="draw",
        object_id=draw.id,
        after={
            "plan_id": plan.id,
            "srdp_id": commitment.srdp_id,
            "snapshot": commitment.snapshot,
            "seed": draw.seed,
            "sample_sha256": draw.sample_sha256,
            "assignment_sha256": draw.assignment_sha256,
            "supersedes_id": draw.supersedes_id,
            "batch_key": batch,
            "reason": draw.reason,
            "summary": summary,
        },
        department_id=plan.department_id,
    )
    return draw


def _entity_pks(session: Session, department_id: int, usccs: list[str]) -> dict[str, int]:
    """USCC → entities.id in the department's registry: one `= ANY(array)` query on
    PostgreSQL, IN lists of a few thousand elsewhere."""
    connection = session.connection()
    where = Entity.department_id == department_id
    if connection.dialect.name == "postgresql":
        wanted = bindparam("usccs", type_=postgresql.ARRAY(String))
        query = select(Entity.uscc, Entity.id).where(where, Entity.uscc == any_(wanted))
        return dict(connection.execute(query, {"usccs": usccs}).all())
    found: dict[str, int] = {}
    for i in range(0, len(usccs), _CHUNK):
        query = select(Entity.uscc, Entity.id).where(where, Entity.uscc.in_(usccs[i : i + _CHUNK]))
        found.update(connection.execute(query).all())
    return found


def _store_rows(session: Session, draw: Draw, plan: Plan, result: srdp.Draw) -> None:
    order = result.sample.processing_order
    position = {d.entity_id: p for p, d in enumerate(order)}
    pks = _entity_pks(session, plan.department_id, [d.entity_id for d in order])
    entity_rows = [
        {
            "draw_id": draw.id,
            "entity_id": pks[d.entity_id],
            "uscc": d.entity_id,
            "stratum": d.stratum,
            "rank": d.rank,
            "ticket": d.ticket,
            "position": position[d.entity_id],
        }
        for d in order
    ]
    assignment_rows = [
        {
            "draw_id": draw.id,
            "position": position[r.entity_id],
            "slot": r.slot,
            "inspector_id": eligibility.inspector_pk(r.inspector_id),
            "phase": r.phase,
            "n_avail": r.n_avail,
            "u": r.u,
        }
        for r in result.assignment.rows
    ] + [
        {
            "draw_id": draw.id,
            "position": position[x.entity_id],
            "slot": x.slot,
            "inspector_id": None,
            "phase": None,
            "n_avail": None,
            "u": None,
        }
        for x in result.assignment.unstaffed
    ]
    connection = session.connection()
    bulk.insert_rows(connection, DrawEntity.__table__, entity_rows)
    bulk.insert_rows(connection, DrawAssignment.__table__, assignment_rows)


# -- replacement ---------------------------------------------------------------------------


def _replacements(session: Session, draw: Draw) -> list[DrawReplacement]:
    return list(
        session.scalars(
            select(DrawReplacement)
            .where(DrawReplacement.draw_id == draw.id)
            .order_by(DrawReplacement.n)
        )
    )


def _uscc_at(session: Session, draw: Draw, position: int) -> str:
    uscc = session.scalar(
        select(DrawEntity.uscc).where(
            DrawEntity.draw_id == draw.id, DrawEntity.position == position
        )
    )
    if uscc is None:
        raise NotFound("抽中对象不存在")
    return uscc


def _as_srdp(row: DrawReplacement, uscc: str) -> srdp.Replacement:
    return srdp.Replacement(
        row.n,
        uscc,
        row.slot,
        eligibility.inspector_key(row.withdrawn_id),
        row.reason,
        eligibility.inspector_key(row.inspector_id) if row.inspector_id is not None else None,
        row.n_avail,
        row.u,
        row.at,
    )


def _srdp_replacements(session: Session, draw: Draw) -> list[srdp.Replacement]:
    rows = _replacements(session, draw)
    usccs = dict(
        session.execute(
            select(DrawEntity.position, DrawEntity.uscc).where(
                DrawEntity.draw_id == draw.id,
                DrawEntity.position.in_({r.position for r in rows}),
            )
        ).all()
    )
    return [_as_srdp(r, usccs[r.position]) for r in rows]


def rerun(session: Session, draw: Draw) -> srdp.Draw:
    """Re-run the draw from its commitment and recorded randomness (the same result)."""
    commitment = draw.commitment
    values = [
        srdp.RandomnessValue(e.label, e.value, dict(e.provenance)) for e in draw.randomness_entries
    ]
    return srdp.draw(commitments.commitment_files(commitment), values)


def replace(
    session: Session,
    *,
    actor: User,
    draw_id: int,
    position: int,
    slot: int,
    reason: str,
    note: str,
) -> DrawReplacement:
    """Withdraw the inspector in a slot and draw a replacement (SRDP-1 §6.5), recorded."""
    draw = get(session, actor, draw_id)
    plan = draw.plan
    require_admin_of(actor, plan.department_id)
    if superseded_by(session, draw) is not None:
        raise Conflict("该抽取结果已被重新抽取取代")
    if plan.status == PlanStatus.CLOSED:
        raise Conflict("任务已结束，不能替换人员")
    if reason not in REPLACEMENT_REASONS:
        raise Invalid("替换原因无效", errors={"reason": ["请选择替换原因"]})
    if not note.strip():
        raise Invalid("请说明替换理由", errors={"note": ["不能为空"]})
    uscc = _uscc_at(session, draw, position)
    result = rerun(session, draw)
    previous = _srdp_replacements(session, draw)
    now = utcnow()
    try:
        done = srdp.replace(
            result.bundle,
            result.assignment,
            previous,
            srdp.ReplacementRequest(uscc, slot, reason, now),
        )
    except srdp.DrawError as exc:
        raise Invalid(f"不能替换：{exc}") from exc
    row = DrawReplacement(
        draw_id=draw.id,
        n=done.n,
        position=position,
        slot=slot,
        withdrawn_id=eligibility.inspector_pk(done.withdrawn),
        inspector_id=eligibility.inspector_pk(done.inspector_id) if done.inspector_id else None,
        reason=reason,
        note=note.strip()[:500],
        n_avail=done.n_avail,
        u=done.u,
        at=now,
        created_by_id=actor.id,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("另一项替换刚刚完成，请刷新后重试") from exc
    notices.notify_replacement(session, draw, row)
    audit.record(
        session,
        actor=actor,
        action="draws.replace",
        object_type="draw",
        object_id=draw.id,
        after={
            "n": done.n,
            "entity_id": uscc,
            "slot": slot,
            "withdrawn": done.withdrawn,
            "inspector_id": done.inspector_id,
            "reason": reason,
            "note": row.note,
            "n_avail": done.n_avail,
            "u": done.u,
        },
        department_id=plan.department_id,
    )
    return row


# -- outputs -------------------------------------------------------------------------------


def full_manifest(session: Session, draw: Draw) -> dict:
    """The auditors' manifest (§7) with the replacements made so far."""
    manifest = draw.manifest_doc
    manifest["replacements"] = [
        srdp.replacement_entry(r) for r in _srdp_replacements(session, draw)
    ]
    return manifest


def bundle_zip(session: Session, actor: User, draw_id: int) -> tuple[Draw, bytes]:
    """The auditors' bundle: the four files, SHA256SUMS and manifest.json at the root."""
    draw = get(session, actor, draw_id, whole=True)
    if not audits(actor):
        raise NotFound("抽取结果不存在")
    commitment = draw.commitment
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in commitments.commitment_files(commitment).items():
            zf.writestr(name, data)
        zf.writestr("SHA256SUMS", commitment.sha256sums)
        link = chain_link(draw)
        if link is not None:
            zf.writestr(chain.CHAIN_FILE, link.as_json())
        manifest = full_manifest(session, draw)
        zf.writestr(
            "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
        )
    audit.record(
        session,
        actor=actor,
        action="draws.bundle",
        object_type="draw",
        object_id=draw.id,
        department_id=draw.plan.department_id,
    )
    return draw, buffer.getvalue()


def chain_link(draw: Draw) -> chain.Link | None:
    """A batch draw's place in its plan's hash chain (chain.json of its bundle, SRDP-1 §3.3);
    None for a draw outside a recurring plan's batches."""
    plan, commitment = draw.plan, draw.commitment
    if draw.batch_key is None or not plan.chain_tip:
        return None
    period = period_of(plan.recurrence, draw.batch_key)
    splan = srdp_bundle.parse_plan(commitment.plan_json)
    label = next((s.label for s in splan.randomness if s.kind == "server"), None)
    if period is None or label is None:
        return None
    length = len(periods(plan.recurrence, period.start.year))
    return chain.Link(plan.chain_tip, length, period.index, draw.batch_key, label)


def _batch_end(session: Session, draw: Draw) -> dt.date | None:
    """The last day of a batch draw's period: its fieldwork ends with it."""
    if draw.batch_key is None:
        return None
    return session.scalar(
        select(PlanBatch.period_end).where(
            PlanBatch.plan_id == draw.plan_id, PlanBatch.key == draw.batch_key
        )
    )


def draw_is_public(session: Session, draw: Draw, today: dt.date) -> bool:
    """Whether this draw's seed and drawn list are public today (its batch's period counted)."""
    return is_public(draw.plan, today, fieldwork_end=_batch_end(session, draw))


def public_manifest(session: Session, draw: Draw, today: dt.date) -> dict:
    """What anyone may see: commitment, counts and hashes; seed and list once published.

    Never: strata (credit-risk classes), regions, inspectors (SRDP-1 §1.4).
    """
    plan = draw.plan
    commitment = draw.commitment
    summary = draw.summary_doc
    replaced = superseded_by(session, draw)
    doc = {
        "spec": srdp_bundle.SPEC,
        "draw_id": draw.id,
        "plan_id": commitment.srdp_id,
        "plan_code": plan.code,
        "plan_title": plan.title,
        "department": plan.department.name,
        "committed_at": commitment.committed_at.isoformat(),
        "sha256sums": commitment.sha256sums,
        "snapshot_sha256": commitment.snapshot,
        "server_secret_sha256": commitment.server_secret_sha256,
        "drawn_at": draw.created_at.isoformat(),
        "eligible": summary.eligible,
        "drawn": summary.drawn,  # not-a-state: a count
        "sample_sha256": draw.sample_sha256,
        "assignment_sha256": draw.assignment_sha256,
        "supersedes": draw.supersedes_id,
        "redraw_reason": draw.reason,
        "superseded_by": replaced.id if replaced else None,
        "replacements": len(_replacements(session, draw)),
        "published": draw_is_public(session, draw, today),
    }
    if doc["published"]:
        manifest = draw.manifest_doc
        doc["randomness"] = [
            {k: v for k, v in e.items() if k != "witnesses"} for e in manifest["randomness"]
        ]
        doc["seed_text"] = manifest["seed_text"]
        doc["seed"] = draw.seed
        doc["sample"] = [
            {"entity_id": row.uscc, "name": name, "ticket": row.ticket}
            for row, name in session.execute(
                select(DrawEntity, Entity.name)
                .join(Entity, Entity.id == DrawEntity.entity_id)
                .where(DrawEntity.draw_id == draw.id)
                .order_by(DrawEntity.position)
            )
        ]
    return doc


@dataclass
class Member:
    slot: int
    inspector: Inspector | None
    phase: int | None
    replaced: bool
    hidden: bool = False  # another department's member of a joint team (not shown)


@dataclass
class TeamRow:
    drawn: DrawEntity
    entity: Entity
    members: list[Member]
    whole: bool = True  # every member is named to the viewer (the 检查通知书 may be shown)


def teams(
    session: Session,
    draw: Draw,
    *,
    offset: int = 0,
    limit: int = 100,
    viewer: User | None = None,
) -> list[TeamRow]:
    """Drawn entities in processing order with their current teams (replacements applied),
    `limit` of them from the `offset`-th. A draw's positions are 0 … drawn − 1 in processing
    order (_store_rows), so the `offset`-th is the row at that position: the primary key finds
    it, never an OFFSET through the rows before it.

    With a `viewer`, each team is shown as `redact` allows: a participating department of a
    joint plan sees its own members, and the others' only on a team the viewer is on."""
    drawn = session.execute(
        select(DrawEntity, Entity)
        .join(Entity, Entity.id == DrawEntity.entity_id)
        .where(DrawEntity.draw_id == draw.id, DrawEntity.position >= offset)
        .order_by(DrawEntity.position)
        .limit(limit)
    ).all()
    positions = [d.position for d, _ in drawn]
    slots: dict[tuple[int, int], Member] = {}
    rows = session.execute(
        select(DrawAssignment, Inspector)
        .outerjoin(Inspector, Inspector.id == DrawAssignment.inspector_id)
        .where(DrawAssignment.draw_id == draw.id, DrawAssignment.position.in_(positions))
    ).all()
    for a, inspector in rows:
        slots[(a.position, a.slot)] = Member(a.slot, inspector, a.phase, False)
    for r in _replacements(session, draw):
        if r.position in positions:
            inspector = session.get(Inspector, r.inspector_id) if r.inspector_id else None
            slots[(r.position, r.slot)] = Member(r.slot, inspector, None, True)
    result = []
    for d, entity in drawn:
        members = sorted(
            (m for (p, _), m in slots.items() if p == d.position), key=lambda m: m.slot
        )
        result.append(redact(TeamRow(d, entity, members), draw.plan, viewer))
    return result


def redact(row: TeamRow, plan: Plan, viewer: User | None) -> TeamRow:
    """The one rule for naming a joint team's members (draw page, 检查通知书, task lists, the
    API): whoever `scope.names_team` allows sees every name; anyone else sees their own
    department's members and the others as hidden, and the row is not `whole` (its
    检查通知书, which names the whole team, is not theirs to open). `viewer` None: unredacted
    (internal use: notifications, the demo)."""
    members = [m.inspector.user_id for m in row.members if m.inspector and m.inspector.user_id]
    if viewer is None or names_team(viewer, plan.department_id, members):
        return row
    own = plans.slots_of(plan, viewer.department_id)
    for member in row.members:
        if member.slot not in own:
            member.inspector, member.phase, member.hidden = None, None, True
            row.whole = False
    return row


def summary_for(viewer: User, draw: Draw) -> dict:
    """A draw's counts as the viewer may read them: per credit-risk class for those who see
    the plan's classes (`scope.sees_strata`), the totals otherwise."""
    summary = draw.summary_doc
    if sees_strata(viewer, draw.plan.department_id):
        return summary.as_dict()
    totals = {k: v for k, v in summary.as_dict().items() if k != "strata"}
    return totals | {"eligible": summary.eligible}


TEAM_ORDER: Order = ((DrawEntity.position, False),)  # within one draw


def teams_page(
    session: Session,
    draw: Draw,
    *,
    cursor: str | None = None,
    limit: int = 50,
    viewer: User | None = None,
) -> Keyset:
    """One page of teams() after `cursor` (the position of the last row shown)."""
    start = decode_cursor(TEAM_ORDER, cursor)[0] + 1 if cursor else 0
    rows = teams(session, draw, offset=max(start, 0), limit=limit + 1, viewer=viewer)
    items, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(TEAM_ORDER, [items[-1].drawn.position]) if more else None
    return Keyset(items=items, next=next_cursor, limit=limit)


def count_drawn(session: Session, draw: Draw) -> int:
    return draw.summary_doc.drawn


def replacements(session: Session, draw: Draw) -> list[DrawReplacement]:
    return _replacements(session, draw)


def replacement_rows(session: Session, draw: Draw, viewer: User | None = None) -> list[dict]:
    """The draw's replacements with what each names: the drawn entity's row (position,
    USCC), the inspector withdrawn and the one who took the place (None: left unstaffed).
    `hidden`: a replacement in another department's slot of a team whose members are not
    all named to the viewer (`redact`, the rule of the teams)."""
    rows = _replacements(session, draw)
    own = plans.slots_of(draw.plan, viewer.department_id) if viewer is not None else set()
    named: dict[int, bool] = {}

    def hidden(r: DrawReplacement) -> bool:
        if viewer is None or r.slot in own:
            return False
        if r.position not in named:
            team = teams(session, draw, offset=r.position, limit=1, viewer=viewer)
            named[r.position] = bool(team) and team[0].whole
        return not named[r.position]

    entities = dict(
        session.execute(
            select(DrawEntity.position, DrawEntity).where(
                DrawEntity.draw_id == draw.id,
                DrawEntity.position.in_({r.position for r in rows}),
            )
        ).all()
    )
    return [
        {
            "row": r,
            "entity": entities.get(r.position),
            "withdrawn": session.get(Inspector, r.withdrawn_id),
            "inspector": session.get(Inspector, r.inspector_id) if r.inspector_id else None,
            "hidden": hidden(r),
        }
        for r in rows
    ]


# An inspector's tasks, newest draw first, then by the drawn entity's position and the slot.
TASK_ORDER = (
    (DrawAssignment.draw_id, True),
    (DrawAssignment.position, False),
    (DrawAssignment.slot, False),
)


def _task_draws(finished: bool, year: int | None):
    """The live draws whose tasks are current (their plan not closed), or finished (closed)
    and, with `year`, drawn in that year (Beijing time): a subquery of draw ids."""
    closed = Plan.status == PlanStatus.CLOSED
    query = (
        select(Draw.id)
        .join(Plan, Plan.id == Draw.plan_id)
        .where(Draw.id.in_(eligibility.live_draws()), closed if finished else ~closed)
    )
    if year is not None:
        start, end = plans.year_bounds(year)
        query = query.where(Draw.created_at >= start, Draw.created_at < end)
    return query


def held(
    session: Session,
    actor: User,
    inspector_id: int,
    *,
    finished: bool = False,
    year: int | None = None,
) -> list[tuple[int, int, int]]:
    """The (draw, position, slot) the inspector holds in live draws, in TASK_ORDER: of plans
    still open (current work), or of closed plans (`finished`, optionally of one `year`).
    Three queries whatever the history: the inspector, their assignments, and the
    replacements of the draws they were ever placed in (only there can a slot have moved to
    or from them)."""
    inspector = get_visible(session, actor, Inspector, inspector_id, label="执法检查人员")
    if is_inspector(actor) and inspector.user_id != actor.id:
        raise NotFound("执法检查人员不存在")
    live = _task_draws(finished, year)
    mine = DrawAssignment.inspector_id == inspector.id
    held_: dict[tuple[int, int, int], bool] = {
        (d, p, s): True
        for d, p, s in session.execute(
            select(DrawAssignment.draw_id, DrawAssignment.position, DrawAssignment.slot).where(
                mine, DrawAssignment.draw_id.in_(live)
            )
        )
    }
    placed = or_(
        DrawReplacement.draw_id.in_(select(DrawAssignment.draw_id).where(mine)),
        DrawReplacement.draw_id.in_(
            select(DrawReplacement.draw_id).where(DrawReplacement.inspector_id == inspector.id)
        ),
    )
    for r in session.scalars(
        select(DrawReplacement)
        .where(placed, DrawReplacement.draw_id.in_(live))
        .order_by(DrawReplacement.draw_id, DrawReplacement.n)
    ):
        key = (r.draw_id, r.position, r.slot)
        if r.withdrawn_id == inspector.id or key in held_:
            held_[key] = r.inspector_id == inspector.id
        elif r.inspector_id == inspector.id:
            held_[key] = True
    return sorted((k for k, holds in held_.items() if holds), key=lambda k: (-k[0], k[1], k[2]))


def draws_with_plans(session: Session, draw_ids) -> dict[int, Draw]:
    """The draws by id with their plans, in one query."""
    ids = sorted(set(draw_ids))
    if not ids:
        return {}
    return {
        d.id: d
        for d in session.scalars(
            select(Draw).options(joinedload(Draw.plan)).where(Draw.id.in_(ids))
        )
    }


def team_rows(session: Session, pairs) -> dict[tuple[int, int], TeamRow]:
    """The drawn entities at these (draw, position) pairs, of any draws, with their current
    teams (replacements applied, nobody hidden: a reader's view goes through `redact`):
    three queries however many pairs."""
    pairs = sorted(set(pairs))
    if not pairs:
        return {}
    drawn = session.execute(
        select(DrawEntity, Entity)
        .join(Entity, Entity.id == DrawEntity.entity_id)
        .where(tuple_(DrawEntity.draw_id, DrawEntity.position).in_(pairs))
    ).all()
    slots: dict[tuple[int, int], dict[int, Member]] = {}
    for a, inspector in session.execute(
        select(DrawAssignment, Inspector)
        .outerjoin(Inspector, Inspector.id == DrawAssignment.inspector_id)
        .where(tuple_(DrawAssignment.draw_id, DrawAssignment.position).in_(pairs))
    ):
        slots.setdefault((a.draw_id, a.position), {})[a.slot] = Member(
            a.slot, inspector, a.phase, False
        )
    for r, inspector in session.execute(
        select(DrawReplacement, Inspector)
        .outerjoin(Inspector, Inspector.id == DrawReplacement.inspector_id)
        .where(tuple_(DrawReplacement.draw_id, DrawReplacement.position).in_(pairs))
        .order_by(DrawReplacement.draw_id, DrawReplacement.n)
    ):
        slots.setdefault((r.draw_id, r.position), {})[r.slot] = Member(
            r.slot, inspector, None, True
        )
    return {
        (d.draw_id, d.position): TeamRow(
            d,
            entity,
            [m for _slot, m in sorted(slots.get((d.draw_id, d.position), {}).items())],
        )
        for d, entity in drawn
    }


def _tasks(session: Session, actor: User, keys, found: dict[int, Draw] | None = None) -> list[dict]:
    """The tasks at these keys (draw, position, slot) in their order, in a fixed number of
    queries: the draws with their plans (unless `found` has them) and the teams, as the
    actor may see them (`redact`)."""
    found = found if found is not None else draws_with_plans(session, (k[0] for k in keys))
    rows = team_rows(session, ((k[0], k[1]) for k in keys))
    return [
        {
            "draw": found[d],
            "plan": found[d].plan,
            "row": redact(rows[(d, p)], found[d].plan, actor),
            "slot": s,
        }
        for d, p, s in keys
        if (d, p) in rows
    ]


def inspector_tasks(
    session: Session,
    actor: User,
    inspector_id: int,
    *,
    finished: bool = False,
    year: int | None = None,
) -> list[dict]:
    """An inspector's assignments in live draws: plan, entity, slot, teammates; the newest
    draw first. The current ones (plans not closed), or with `finished` those of closed plans
    (of one `year`)."""
    return _tasks(session, actor, held(session, actor, inspector_id, finished=finished, year=year))


def inspector_task_page(
    session: Session,
    actor: User,
    inspector_id: int,
    *,
    cursor: str | None,
    limit: int,
    finished: bool = False,
    year: int | None = None,
) -> Keyset:
    """One page of inspector_tasks after `cursor` (only that page's rows are read, in a fixed
    number of queries)."""
    keys = held(session, actor, inspector_id, finished=finished, year=year)
    if cursor:
        draw_id, position, slot = decode_cursor(TASK_ORDER, cursor)
        last = (-draw_id, position, slot)
        keys = [k for k in keys if (-k[0], k[1], k[2]) > last]
    shown = keys[:limit]
    more = len(keys) > limit
    next_cursor = encode_cursor(TASK_ORDER, shown[-1]) if more else None
    return Keyset(items=_tasks(session, actor, shown), next=next_cursor, limit=limit)


def notice(session: Session, actor: User, draw_id: int, position: int) -> dict:
    """检查通知书 data for one drawn entity: plan, matters, entity and the whole team. Only
    for a viewer to whom every member is named (`redact`): the notice is what the firm
    receives, and it names them all."""
    draw = get(session, actor, draw_id)
    rows = teams(session, draw, offset=position, limit=1, viewer=actor)
    if not rows or rows[0].drawn.position != position or not rows[0].whole:
        raise NotFound("抽中对象不存在")
    return {"draw": draw, "plan": draw.plan, "row": rows[0]}
