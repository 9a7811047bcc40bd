"""What the public site and the public API show of plans and draws (一公开), without signing in.

A commitment is public the moment it is made (SRDP-1 §1.4); a draw's seed and drawn list once
the plan allows (draws.is_public). Never strata, regions or inspectors.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from ...db import Commitment, Draw, Plan, PlanBatch
from ...db.states import PlanStatus
from ...domain import uscc as uscc_rules
from ...errors import Conflict, Invalid, NotFound
from ..pages import Keyset, Order, keyset
from . import draws
from .plans import BEIJING, NEWEST_PLANS, checking, involving, year_bounds

NEWEST_DRAWS: Order = ((Draw.id, True),)  # draw ids grow with time: newest first


def committed_page(
    session: Session,
    *,
    cursor: str | None = None,
    limit: int = 50,
    year: int | None = None,
    department_id: int | None = None,
    matter_id: int | None = None,
) -> Keyset:
    """One page of the plans that have been committed, newest first, back to the first one;
    each item as committed_plans shows it. Filters: `year`, a commitment made in that year
    (Beijing time); `department_id`, the plan's department or a participant of a joint plan;
    `matter_id`, a plan that checks that matter."""
    query = select(Plan).where(Plan.status != PlanStatus.DRAFT)
    if year is not None:
        start, end = year_bounds(year)
        query = query.where(
            select(Commitment.id)
            .where(
                Commitment.plan_id == Plan.id,
                Commitment.committed_at >= start,
                Commitment.committed_at < end,
            )
            .exists()
        )
    if department_id is not None:
        query = query.where(involving(department_id))
    if matter_id is not None:
        query = query.where(checking(matter_id))
    page = keyset(session, query, NEWEST_PLANS, cursor=cursor, limit=limit)
    return Keyset(items=_documents(session, page.items), next=page.next, limit=page.limit)


def first_year(session: Session) -> int | None:
    """The year (Beijing time) of the first commitment, for the public year filter."""
    first = session.scalar(select(func.min(Commitment.committed_at)))
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return first.astimezone(BEIJING).year


def committed_plans(session: Session, *, limit: int = 500) -> list[dict]:
    """Plans that have been committed, newest first, each with its commitments (oldest first)
    and the draw each commitment produced, if any."""
    return committed_page(session, limit=limit).items


def _documents(session: Session, plan_list: list[Plan]) -> list[dict]:
    ids = [p.id for p in plan_list]
    by_plan: dict[int, list[Commitment]] = {i: [] for i in ids}
    for c in session.scalars(
        select(Commitment).where(Commitment.plan_id.in_(ids)).order_by(Commitment.seq)
    ):
        by_plan[c.plan_id].append(c)
    draw_of = dict(
        session.execute(select(Draw.commitment_id, Draw.id).where(Draw.plan_id.in_(ids))).all()
    )
    return [
        {
            "id": plan.id,
            "code": plan.code,
            "title": plan.title,
            "department": plan.department.name,
            "status": plan.status,
            "fieldwork_start": plan.fieldwork_start,
            "fieldwork_end": plan.fieldwork_end,
            "recurrence": plan.recurrence,
            "plan_year": plan.plan_year,
            "chain_tip": plan.chain_tip,  # a recurring plan's, public from its activation
            "commitments": [
                {
                    "seq": c.seq,
                    "srdp_id": c.srdp_id,
                    "snapshot": c.snapshot,
                    "sha256sums": c.sha256sums,
                    "server_secret_sha256": c.server_secret_sha256,
                    "committed_at": c.committed_at,
                    "reason": c.reason,
                    "draw_id": draw_of.get(c.id),
                }
                for c in by_plan[plan.id]
            ],
        }
        for plan in plan_list
    ]


def draws_page(
    session: Session,
    *,
    today: dt.date,
    cursor: str | None = None,
    limit: int = 50,
    year: int | None = None,
    department_id: int | None = None,
    matter_id: int | None = None,
) -> Keyset:
    """One page of every draw, newest first, back to the first one (redraws and the draws
    they replaced alike: a draw is never hidden). Filters: `year`, drawn in that year (Beijing
    time); `department_id`, the plan's department or a participant of a joint plan;
    `matter_id`, a plan that checks that matter. Each item as draw_rows shows it."""
    query = select(Draw).join(Plan, Plan.id == Draw.plan_id)
    if year is not None:
        start, end = year_bounds(year)
        query = query.where(Draw.created_at >= start, Draw.created_at < end)
    if department_id is not None:
        query = query.where(involving(department_id))
    if matter_id is not None:
        query = query.where(checking(matter_id))
    query = query.options(contains_eager(Draw.plan).joinedload(Plan.department))
    page = keyset(session, query, NEWEST_DRAWS, cursor=cursor, limit=limit)
    return Keyset(items=draw_rows(session, page.items, today), next=page.next, limit=page.limit)


def draw_rows(session: Session, draw_list: list[Draw], today: dt.date) -> list[dict]:
    """The public summary of each draw (what its public page heads with), in a fixed number
    of queries: never strata, regions or inspectors; `published` says whether the seed and
    the drawn list are public yet (draws.is_public)."""
    ids = [d.id for d in draw_list]
    srdp_ids = dict(
        session.execute(
            select(Commitment.id, Commitment.srdp_id).where(
                Commitment.id.in_([d.commitment_id for d in draw_list])
            )
        ).all()
    )
    replaced_by = dict(
        session.execute(
            select(Draw.supersedes_id, Draw.id).where(Draw.supersedes_id.in_(ids))
        ).all()
    )
    batch_ends = {
        (plan_id, key): end
        for plan_id, key, end in session.execute(
            select(PlanBatch.plan_id, PlanBatch.key, PlanBatch.period_end).where(
                PlanBatch.plan_id.in_({d.plan_id for d in draw_list if d.batch_key}),
                PlanBatch.key.in_({d.batch_key for d in draw_list if d.batch_key}),
            )
        )
    }
    rows = []
    for d in draw_list:
        summary = d.summary_doc
        end = batch_ends.get((d.plan_id, d.batch_key)) if d.batch_key else None
        rows.append(
            {
                "draw_id": d.id,
                "srdp_id": srdp_ids[d.commitment_id],
                "plan_code": d.plan.code,
                "plan_title": d.plan.title,
                "department": d.plan.department.name,
                "batch_key": d.batch_key,
                "drawn_at": d.created_at,
                "eligible": summary.eligible,
                "drawn": summary.drawn,  # not-a-state: a count
                "supersedes": d.supersedes_id,
                "superseded_by": replaced_by.get(d.id),
                "published": draws.is_public(d.plan, today, fieldwork_end=end),
            }
        )
    return rows


def first_draw_year(session: Session) -> int | None:
    """The year (Beijing time) of the first draw, for the public year filter."""
    first = session.scalar(select(func.min(Draw.created_at)))
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=dt.UTC)
    return first.astimezone(BEIJING).year


def public_draw(session: Session, draw_id: int, today: dt.date) -> dict:
    """draws.public_manifest of any draw, with the reason of the redraw that replaced it."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFound("抽取结果不存在")
    doc = draws.public_manifest(session, draw, today)
    newer = draws.superseded_by(session, draw)
    doc["superseded_reason"] = newer.reason if newer else None
    return doc


def draw_check(session: Session, draw_id: int, uscc: str, today: dt.date) -> dict:
    """What a citizen's browser needs to check one firm against a published draw: whether the
    USCC was in the draw's frozen 名录 (entities.tsv, where the entity id is the USCC) and the
    threshold ticket of its group. Never the group's code: the credit-risk class stays private
    (SRDP-1 §1.4); the threshold is the trimmed ticket of the group's last drawn entity, public
    in the drawn list already. Answers only once the draw's seed is public."""
    draw = session.get(Draw, draw_id)
    if draw is None:
        raise NotFound("抽取结果不存在")
    code = unicodedata.normalize("NFKC", uscc).strip().upper()
    if len(code) != 18 or not uscc_rules.is_valid(code):
        raise Invalid("请输入正确的 18 位统一社会信用代码")
    if not draws.draw_is_public(session, draw, today):
        raise Conflict("本次抽取的随机数和种子尚未公示，公示后才能核验")
    stratum = _stratum_in_snapshot(draw.commitment.entities_tsv, code)
    doc = {"draw_id": draw.id, "entity_id": code, "in_snapshot": stratum is not None}
    if stratum is not None:
        group = next(s for s in draw.summary_doc.strata if s.code == stratum)
        doc["threshold_ticket"] = group.threshold_ticket
    return doc


def _stratum_in_snapshot(entities_tsv: bytes, entity_id: str) -> str | None:
    """The stratum of `entity_id`'s line in entities.tsv (SRDP-1 §2.1), None if absent."""
    key = entity_id.encode("ascii") + b"\t"
    start = 0
    if not entities_tsv.startswith(key):
        start = entities_tsv.find(b"\n" + key) + 1  # lines start after an LF (§2.1)
        if start == 0:
            return None
    end = entities_tsv.find(b"\n", start)
    fields = entities_tsv[start : end if end >= 0 else None].decode("ascii").split("\t")
    return fields[1]
