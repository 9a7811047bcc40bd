"""Commitments (承诺): freeze a plan's inputs (SRDP-1 §1–§2).

The four SRDP-1 files are built from the registries as they stand (eligible entities, eligible
inspectors, exclusions, plan.json), the capacity pre-check refuses a plan that cannot be
staffed, and the files are stored byte for byte with their digest, which is public from then
on. Draws (draws.py) run on a commitment.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import Commitment, Entity, Plan, User, bulk
from ...domain import bundle as srdp_bundle
from ...domain import srdp
from ...errors import Invalid
from ..platform import audit
from . import eligibility
from .settings import UNCLASSIFIED, UNKNOWN_REGION, config


def srdp_plan(
    plan: Plan, srdp_id: str, server_sha256: str | None, *, strata: dict | None = None
) -> srdp_bundle.Plan:
    """plan.json of the plan; `strata` replaces the plan's (a batch's counts)."""
    cfg = config(plan)
    randomness = []
    for source in cfg["randomness"]:
        entry = dict(source)
        if entry["kind"] == "server":
            entry["sha256"] = server_sha256
        randomness.append(entry)
    obj = {
        "spec": srdp_bundle.SPEC,
        "plan_id": srdp_id,
        "strata": cfg["strata"] if strata is None else strata,
        "rounding": plan.rounding,
        "slots": cfg["slots"],
        "region_rule": plan.region_rule,
        "selection": plan.selection,
        "randomness": randomness,
    }
    return srdp_bundle.parse_plan(srdp_bundle.canonical_json(obj))


@dataclass
class Inputs:
    """What a commitment freezes, with the counts the plan page shows."""

    srdp_id: str  # the draw's id in its bundle (plan.json's plan_id)
    files: dict[str, bytes]
    server_secret: str | None
    summary: dict


def build_inputs(
    session: Session,
    plan: Plan,
    *,
    srdp_id: str,
    today: dt.date,
    batch_strata: dict | None = None,
    server_secret: str | None = None,
) -> Inputs:
    """The four files from the registries as they stand, after the capacity pre-check.

    The database does the filtering and counting; Python only sorts and joins the lines.
    Raises Invalid with the shortfall per department and region when the plan cannot be staffed.
    A batch of a recurring plan gives its own `batch_strata` (counts) and `server_secret` (its link
    of the hash chain), and leaves out the entities the plan's earlier batches drew.
    """
    cfg = config(plan)
    in_scope = eligibility.in_scope(plan, cfg["scope"])
    open_, capped = eligibility.held(plan, today)
    eligible = list(in_scope)
    excluded = {}
    if plan.recurrence != "once":
        drawn_here = eligibility.drawn_by_plan(plan)
        excluded["plan_year"] = eligibility.count(session, *eligible, drawn_here)
        eligible.append(~drawn_here)
    if open_ is not None:
        excluded["open"] = eligibility.count(session, *in_scope, open_)
        eligible.append(~open_)
    if capped is not None:
        excluded["annual_cap"] = eligibility.count(session, *eligible, capped)
        eligible.append(~capped)
    excluded = {reason: n for reason, n in excluded.items() if n}
    stratum = func.coalesce(Entity.risk_class, UNCLASSIFIED)
    region = func.coalesce(Entity.region_code, UNKNOWN_REGION)
    connection = session.connection()
    lines = bulk.fetch_lines(connection, select(Entity.uscc, stratum, region).where(*eligible))
    entities_tsv = srdp_bundle.tsv_from_lines(srdp_bundle.ENTITIES, lines)  # USCCs are unique
    strata: Counter = Counter()
    regions: Counter = Counter()
    # Counted from the lines already in hand: cheaper than a second pass of the query.
    for pair, n in Counter(line.partition("\t")[2] for line in lines).items():
        code, _, place = pair.partition("\t")
        strata[code] += n
        regions[place] += n
    secret = server_secret or (
        secrets.token_hex(32) if any(s["kind"] == "server" for s in cfg["randomness"]) else None
    )
    splan = srdp_plan(
        plan, srdp_id, srdp.server_commitment(secret) if secret else None, strata=batch_strata
    )
    inspectors, inspectors_left_out = eligibility.eligible_inspectors(
        session, plan, cfg["slots"], today
    )
    exclusions = eligibility.exclusion_lines(
        session,
        plan,
        eligible,
        [eligibility.inspector_pk(i.inspector_id) for i in inspectors],
        today,
    )
    files = {
        srdp_bundle.ENTITIES: entities_tsv,
        srdp_bundle.INSPECTORS: srdp_bundle.inspectors_tsv(inspectors),
        srdp_bundle.EXCLUSIONS: srdp_bundle.tsv_from_lines(srdp_bundle.EXCLUSIONS, exclusions),
        srdp_bundle.PLAN: srdp_bundle.plan_json(splan),
    }
    quotas = [
        srdp.Quota(
            rule.code,
            strata.get(rule.code, 0),
            srdp.quota(strata.get(rule.code, 0), rule, splan.rounding),
        )
        for rule in splan.strata
    ]
    problems = capacity_problems(splan, inspectors, quotas, regions)
    if problems:
        raise Invalid(
            "检查人员不足，无法承诺：" + "；".join(problems),
            errors={"capacity": problems},
        )
    summary = dict(  # keyword form: "drawn" here is a count, not a status
        eligible=len(lines),
        excluded=excluded,
        strata={q.code: {"N": q.n, "k": q.k} for q in quotas},
        drawn=sum(q.k for q in quotas),
        inspectors=len(inspectors),
        inspectors_left_out=dict(inspectors_left_out),
        exclusions=dict(Counter(line.rsplit("\t", 1)[1] for line in exclusions)),
    )
    return Inputs(srdp_id, files, secret, summary)


def capacity_problems(
    splan: srdp_bundle.Plan,
    inspectors: list[srdp_bundle.Inspector],
    quotas: list[srdp.Quota],
    regions: Counter,
) -> list[str]:
    """Why the plan certainly cannot be staffed, per department and per region (zh-CN)."""
    problems = []
    for s in srdp.capacity_shortfalls(splan, inspectors, quotas):
        dept = "全部门" if s.dept == srdp_bundle.ANY_DEPT else s.dept
        problems.append(
            f"{dept}：需要 {s.demand} 人次，可用 {s.capacity} 人次（每人上限合计），"
            f"缺 {s.missing} 人次"
        )
    if splan.region_rule == "none" or not any(q.k for q in quotas):
        return problems
    for dept, needed in sorted(Counter(splan.slots).items()):
        pool = [i for i in inspectors if dept in (srdp_bundle.ANY_DEPT, i.dept)]
        for region in sorted(regions):
            if splan.region_rule == "same":
                fit = sum(1 for i in pool if i.region == region)
            else:
                fit = sum(1 for i in pool if i.region != region)
            if fit < needed:
                label = "全部门" if dept == srdp_bundle.ANY_DEPT else dept
                rule = "属地" if splan.region_rule == "same" else "异地"
                problems.append(
                    f"{label}，区域 {region}：{rule}规则下只有 {fit} 名可派人员，"
                    f"每组需要 {needed} 名"
                )
    return problems


def store_commitment(
    session: Session,
    plan: Plan,
    inputs: Inputs,
    *,
    seq: int,
    actor: User | None,
    action: str,
    reason: str | None = None,
    batch_key: str | None = None,
) -> Commitment:
    """Store the frozen files byte for byte with their digest and record it: from here on the
    inputs cannot change and the digest is public. `actor` None: the scheduler (a batch)."""
    files, srdp_id = inputs.files, inputs.srdp_id
    sums = srdp_bundle.sha256sums(files)
    secret = inputs.server_secret
    commitment = Commitment(
        plan_id=plan.id,
        seq=seq,
        batch_key=batch_key,
        srdp_id=srdp_id,
        reason=reason,
        plan_json=files[srdp_bundle.PLAN],
        entities_tsv=files[srdp_bundle.ENTITIES],
        inspectors_tsv=files[srdp_bundle.INSPECTORS],
        exclusions_tsv=files[srdp_bundle.EXCLUSIONS],
        sha256sums=sums,
        snapshot=srdp_bundle.snapshot(sums),
        server_secret=secret,
        server_secret_sha256=srdp.server_commitment(secret) if secret else None,
        summary=json.dumps(inputs.summary, ensure_ascii=False, sort_keys=True),
        committed_by_id=actor.id if actor else None,
    )
    session.add(commitment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="plan",
        object_id=plan.id,
        after={
            "srdp_id": srdp_id,
            "seq": seq,
            "batch_key": batch_key,
            "reason": reason,
            "snapshot": commitment.snapshot,
            "sha256sums": sums,
            "server_secret_sha256": commitment.server_secret_sha256,
            "summary": inputs.summary,
        },
        department_id=plan.department_id,
    )
    return commitment


def commitment_files(commitment: Commitment) -> dict[str, bytes]:
    return {
        srdp_bundle.ENTITIES: commitment.entities_tsv,
        srdp_bundle.INSPECTORS: commitment.inspectors_tsv,
        srdp_bundle.EXCLUSIONS: commitment.exclusions_tsv,
        srdp_bundle.PLAN: commitment.plan_json,
    }
