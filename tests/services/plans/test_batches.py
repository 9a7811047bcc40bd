"""Recurring plans: periods and due times across month ends, leap years and holidays; the
the yearly targets; activation; ensure-due catching up exactly once; failures."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import Counter

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shuangsuiji.db import AuditEntry, Draw, DrawEntity, Plan, PlanBatch
from shuangsuiji.db.states import BatchStatus, PlanStatus
from shuangsuiji.domain import chain, verify
from shuangsuiji.errors import Conflict, Invalid
from shuangsuiji.scheduler import Scheduler, batch_jobs
from shuangsuiji.services.plans import batches, commitments, draws, eligibility, plans
from shuangsuiji.services.platform import workdays
from shuangsuiji.services.platform.workdays import Calendar

from ...draw_world import TODAY, plan_values
from ...recur_world import SERVER, TIMING, active_plan, beijing, recurring_values

D = dt.date


def make_active(session, world, registry, **kwargs):
    return active_plan(session, world["admin_a"], world["a"], registry["matter"], **kwargs)


def batch_rows(session, plan):
    return list(
        session.scalars(select(PlanBatch).where(PlanBatch.plan_id == plan.id).order_by("key"))
    )


def draw_count(session, plan):
    return session.scalar(select(func.count()).select_from(Draw).where(Draw.plan_id == plan.id))


# -- periods and due times -----------------------------------------------------------------


def test_periods_have_keys_and_ends_across_leap_years():
    months = batches.periods("monthly", 2028)
    assert [p.key for p in months][:3] == ["2028-01", "2028-02", "2028-03"]
    assert months[1].end == D(2028, 2, 29)  # leap year
    assert batches.periods("monthly", 2027)[1].end == D(2027, 2, 28)
    quarters = batches.periods("quarterly", 2026)
    assert [(q.key, q.start, q.end) for q in quarters][3] == (
        "2026-Q4",
        D(2026, 10, 1),
        D(2026, 12, 31),
    )
    assert [(p.key, p.index) for p in batches.periods("yearly", 2026)] == [("2026", 1)]


@pytest.mark.parametrize(
    ("recurrence", "year", "index", "expected"),
    [
        ("monthly", 2026, 1, D(2026, 1, 4)),  # New Year holiday; Sunday 4 January is a 调休 day
        ("monthly", 2025, 2, D(2025, 2, 5)),  # Spring Festival holiday runs to 4 February 2025
        ("monthly", 2023, 1, D(2023, 1, 3)),  # New Year 2023 observed on Monday 2 January
        ("monthly", 2026, 10, D(2026, 10, 8)),  # National Day holiday 1–7 October 2026
        ("monthly", 2026, 12, D(2026, 12, 1)),
        ("quarterly", 2026, 4, D(2026, 10, 8)),
        ("yearly", 2026, 1, D(2026, 1, 4)),
        ("monthly", 2028, 3, D(2028, 3, 1)),  # after a 29 February
    ],
)
def test_a_batch_is_due_on_the_first_working_day_at_nine_beijing_time(
    recurrence, year, index, expected
):
    period = batches.periods(recurrence, year)[index - 1]
    due = batches.due_at(period, Calendar(), TIMING)
    assert due == dt.datetime.combine(expected, dt.time(9), tzinfo=TIMING.tz)
    assert due.tzinfo == dt.UTC and due.hour == 1  # 09:00 Beijing is 01:00 UTC


def test_an_administrators_override_moves_the_due_day():
    period = batches.periods("monthly", 2026)[11]
    calendar = Calendar({D(2026, 12, 1): False})
    assert batches.first_workday(period, calendar) == D(2026, 12, 2)


# -- settings and activation ---------------------------------------------------------------


def test_a_recurring_plan_needs_a_year_and_only_server_randomness(session, world, registry):
    bad = plan_values(recurrence="monthly", randomness=[{"label": "dice", "kind": "digits"}])
    with pytest.raises(Invalid) as exc:
        plans.create(session, actor=world["admin_a"], department_id=world["a"].id, raw=bad)
    assert set(exc.value.errors) == {"plan_year", "randomness"}
    with pytest.raises(Invalid) as exc:
        plans.create(
            session,
            actor=world["admin_a"],
            department_id=world["a"].id,
            raw=plan_values(randomness=SERVER),  # one-off: the server alone is refused
        )
    assert "唯一随机源" in exc.value.errors["randomness"][0]


def test_activation_publishes_the_chain_tip_and_is_audited(session, world, registry):
    plan = make_active(session, world, registry)
    assert plan.status == PlanStatus.ACTIVE and len(plan.chain_tip) == 64
    assert plan.chain_tip == chain.tip(plan.chain_seed, 12)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "plans.activate"))
    after = json.loads(entry.after)
    assert after["chain_tip"] == plan.chain_tip and "chain_seed" not in json.dumps(after)
    assert [b["key"] for b in after["batches"]][:2] == ["2027-01", "2027-02"]
    with pytest.raises(Conflict):
        plans.commit(session, actor=world["admin_a"], plan_id=plan.id, today=TODAY)


def test_a_plan_activated_mid_year_skips_the_periods_already_due(session, world, registry):
    plan = make_active(session, world, registry, activated=beijing(2027, 3, 1, 9, 30))
    keys = [e.period.key for e in batches.schedule(plan, Calendar(), TIMING)]
    assert keys[0] == "2027-04" and len(keys) == 9


def test_activation_is_refused_when_the_year_has_no_batch_left(session, world, registry):
    plan = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=recurring_values(year=2026, recurrence="yearly", matter_ids=[registry["matter"].id]),
    )
    with pytest.raises(Invalid):
        batches.activate(
            session,
            actor=world["admin_a"],
            plan_id=plan.id,
            now=beijing(2026, 11, 29, 12),
            timing=TIMING,
        )
    with pytest.raises(Conflict):
        batches.activate(
            session,
            actor=world["admin_a"],
            plan_id=plans.create(
                session,
                actor=world["admin_a"],
                department_id=world["a"].id,
                raw=plan_values(code="ONCE"),
            ).id,
            now=beijing(2026, 11, 29, 12),
            timing=TIMING,
        )


# -- ensure-due ----------------------------------------------------------------------------


def test_nothing_is_drawn_before_the_due_time_and_once_after(session, db, world, registry):
    plan = make_active(session, world, registry)
    session.commit()
    assert batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 8, 59), timing=TIMING) == []
    first = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 1), timing=TIMING)
    assert [(o.key, o.result) for o in first] == [("2027-01", BatchStatus.DRAWN)]
    assert batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 2), timing=TIMING) == []
    again = batch_jobs.ensure_batch(
        db,
        plan.id,
        batches.schedule(plan, Calendar(), TIMING)[0],
        remaining=12,
        now=beijing(2027, 1, 5),
        timing=TIMING,
    )
    assert again.result == "already"
    assert draw_count(session, plan) == 1
    draw = session.get(Draw, first[0].draw_id)
    assert draw.batch_key == "2027-01" and draw.created_by_id is None
    assert plan.status == PlanStatus.ACTIVE


def test_downtime_over_month_ends_is_caught_up_exactly_once(session, db, world, registry):
    plan = make_active(session, world, registry)
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 10), timing=TIMING)
    # Down from 10 January to 2 March: February's and March's batches are due.
    caught_up = batch_jobs.ensure_due(db, now=beijing(2027, 3, 2, 14), timing=TIMING)
    assert [(o.key, o.result) for o in caught_up] == [
        ("2027-02", BatchStatus.DRAWN),
        ("2027-03", BatchStatus.DRAWN),
    ]
    assert batch_jobs.ensure_due(db, now=beijing(2027, 3, 2, 15), timing=TIMING) == []
    assert [b.key for b in batch_rows(session, plan)] == ["2027-01", "2027-02", "2027-03"]
    assert draw_count(session, plan) == 3


def test_the_scheduler_uses_the_frozen_clock(session, db, world, registry, app):
    plan = make_active(session, world, registry)
    session.commit()
    scheduler = Scheduler(db, app.config)
    with time_machine.travel(beijing(2027, 1, 3, 23, 0), tick=False):
        assert scheduler.ensure_due() == []
        assert scheduler.plan_jobs() == {plan.id: beijing(2027, 1, 4, 9, 0)}
    with time_machine.travel(beijing(2027, 2, 1, 9, 0, 1), tick=False):
        outcomes = scheduler.ensure_due()
        assert [(o.key, o.result) for o in outcomes] == [
            ("2027-01", BatchStatus.DRAWN),
            ("2027-02", BatchStatus.DRAWN),
        ]
        assert scheduler.plan_jobs() == {plan.id: beijing(2027, 3, 1, 9, 0)}


def test_a_whole_year_meets_the_yearly_ratio_and_draws_nobody_twice(session, db, world, registry):
    plan = make_active(session, world, registry, strata={c: {"ratio": "0.4"} for c in "ABCDX"})
    session.commit()
    population = eligibility.in_scope_counts(session, plan)
    targets = batches.yearly_targets(plan, population)
    assert targets == {c: -(-population[c] * 2 // 5) for c in "ABCDX"}
    for entry in batches.schedule(plan, Calendar(), TIMING):
        batch_jobs.ensure_due(db, now=entry.due + dt.timedelta(minutes=5), timing=TIMING)
    rows = batch_rows(session, plan)
    assert len(rows) == 12 and {r.status for r in rows} == {BatchStatus.DRAWN}
    drawn = session.execute(
        select(DrawEntity.uscc, DrawEntity.stratum)
        .join(Draw, Draw.id == DrawEntity.draw_id)
        .where(Draw.plan_id == plan.id)
    ).all()
    assert len({u for u, _ in drawn}) == len(drawn)
    assert Counter(s for _, s in drawn) == Counter(targets)
    # Every batch's bundle verifies, and its secret is a link of the published chain.
    last = session.get(Draw, rows[-1].draw_id)
    _, data = draws.bundle_zip(session, world["admin_a"], last.id)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    assert verify.verify(files, manifest) == []
    secret = manifest["randomness"][0]["value"]
    assert chain.reaches_tip(secret, 12, plan.chain_tip)


def test_a_batch_that_cannot_be_staffed_is_recorded_and_retried_later(session, db, world, registry):
    plan = make_active(session, world, registry, workload_cap=1)
    session.commit()
    failed = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 5), timing=TIMING)
    assert [(o.key, o.result) for o in failed] == [("2027-01", "failed")]
    assert "检查人员不足" in failed[0].error
    [row] = batch_rows(session, plan)
    assert row.status == BatchStatus.FAILED and row.attempts == 1 and "缺" in row.error
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "batches.fail"))
    # Not retried at the next tick, but an hour later (and still failing, so recorded again).
    assert batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 10), timing=TIMING) == []
    retried = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 10, 6), timing=TIMING)
    assert [o.result for o in retried] == ["failed"]
    session.refresh(row)
    assert row.attempts == 2
    # More capacity: the next retry draws it.
    session.execute(Plan.__table__.update().values(workload_cap=10))
    session.commit()
    done = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 11, 7), timing=TIMING)
    assert [o.result for o in done] == [BatchStatus.DRAWN]
    session.refresh(row)
    assert row.status == BatchStatus.DRAWN and row.error is None and row.draw_id == done[0].draw_id


def test_the_database_refuses_a_second_first_draw_of_a_batch(session, db, world, registry):
    plan = make_active(session, world, registry)
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 5), timing=TIMING)
    entry = batches.schedule(plan, Calendar(), TIMING)[0]
    # Past the locks and the batch row, a second commitment of the batch cannot be stored
    # (its SRDP plan id is taken) ...
    with pytest.raises(IntegrityError), session.begin_nested():
        batches.commit_batch(session, plan, entry, remaining=12, today=D(2027, 1, 4))
    # ... and under another id it can; a draw naming the one it supersedes (a recorded redraw)
    # is admitted, a second first draw of the batch is refused by the unique index.
    plan.code = "RENAMED"
    commitment = batches.commit_batch(session, plan, entry, remaining=12, today=D(2027, 1, 4))
    first = session.scalar(select(Draw).where(Draw.plan_id == plan.id))
    fields = {
        "plan_id": plan.id,
        "commitment_id": commitment.id,
        "batch_key": "2027-01",
        "randomness": "[]",
        "seed": "0" * 64,
        "sample_sha256": "0" * 64,
        "assignment_sha256": "0" * 64,
        "summary": "{}",
        "manifest": "{}",
    }
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Draw(**fields))
        session.flush()
    with session.begin_nested():
        session.add(Draw(**fields, supersedes_id=first.id, reason="测试"))
        session.flush()
    assert draw_count(session, plan) == 2


def test_an_open_batch_excludes_its_entities_from_other_plans_until_its_period_ends(
    session, db, world, registry
):
    make_active(session, world, registry, strata={c: {"ratio": "1"} for c in "ABCDX"})
    session.commit()
    batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 5), timing=TIMING)
    other = plans.create(
        session,
        actor=world["admin_a"],
        department_id=world["a"].id,
        raw=plan_values(code="ONE-OFF", matter_ids=[registry["matter"].id]),
    )
    inputs = commitments.build_inputs(session, other, srdp_id="X", today=D(2027, 1, 20))
    assert inputs.summary["excluded"]["open"] > 0
    later = commitments.build_inputs(session, other, srdp_id="X", today=D(2027, 2, 1))
    assert "open" not in later.summary["excluded"]


def test_workdays_override_is_read_from_the_database(session, db, world, registry):
    workdays.add_override(
        session, actor=world["sysadmin"], date=D(2027, 1, 4), is_workday=False, note="测试"
    )
    make_active(session, world, registry)
    session.commit()
    assert batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 12), timing=TIMING) == []
    assert len(batch_jobs.ensure_due(db, now=beijing(2027, 1, 5, 9, 1), timing=TIMING)) == 1


def test_time_travel_across_the_spring_festival(session, db, world, registry):
    """February 2025: the Spring Festival holiday runs to the 4th; the batch waits for the 5th."""
    make_active(session, world, registry, year=2025, activated=beijing(2024, 12, 20))
    session.commit()
    before = batch_jobs.ensure_due(db, now=beijing(2025, 2, 4, 23, 0), timing=TIMING)
    assert [(o.key, o.result) for o in before] == [("2025-01", BatchStatus.DRAWN)]
    assert batch_jobs.ensure_due(db, now=beijing(2025, 2, 5, 8, 59), timing=TIMING) == []
    after = batch_jobs.ensure_due(db, now=beijing(2025, 2, 5, 9, 0), timing=TIMING)
    assert [(o.key, o.result) for o in after] == [("2025-02", BatchStatus.DRAWN)]


def test_time_travel_across_a_leap_day(session, db, world, registry):
    plan = make_active(
        session, world, registry, year=2028, recurrence="quarterly", activated=beijing(2027, 12, 1)
    )
    session.commit()
    assert [
        o.key for o in batch_jobs.ensure_due(db, now=beijing(2028, 2, 29, 23), timing=TIMING)
    ] == ["2028-Q1"]
    assert batch_jobs.ensure_due(db, now=beijing(2028, 3, 31, 23), timing=TIMING) == []
    # Down from 29 February to 1 July: the second and third quarters, once each.
    caught = batch_jobs.ensure_due(db, now=beijing(2028, 7, 3, 12), timing=TIMING)
    assert [o.key for o in caught] == ["2028-Q2", "2028-Q3"]
    rows = batch_rows(session, plan)
    assert [(r.key, r.period_end) for r in rows][0] == ("2028-Q1", D(2028, 3, 31))


LOTTERY = [*SERVER, {"label": "lottery", "kind": "text", "source": "福彩双色球"}]


def test_a_published_value_typed_in_before_the_due_time_enters_the_seed(
    session, db, world, registry
):
    plan = make_active(session, world, registry, randomness=LOTTERY)
    session.commit()
    missing = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 9, 5), timing=TIMING)
    assert missing[0].result == "failed" and "lottery" in missing[0].error

    def lottery(value: str, label: str = "lottery") -> batches.TypedValue:
        return batches.TypedValue("2027-01", label, value, "双色球第 2027001 期")

    enter = dict(
        actor=world["admin_a"],
        plan_id=plan.id,
        now=beijing(2027, 1, 4, 9, 30),
        timing=TIMING,
    )
    with pytest.raises(Invalid):
        batches.enter_value(session, typed=lottery("０３ 红球"), **enter)  # not printable ASCII
    with pytest.raises(Invalid):
        batches.enter_value(session, typed=lottery("1", label="dice"), **enter)
    batches.enter_value(session, typed=lottery(" 03 07 12 19 26 31 + 09 "), **enter)
    session.commit()
    [done] = batch_jobs.ensure_due(db, now=beijing(2027, 1, 4, 10, 6), timing=TIMING)
    assert done.result == BatchStatus.DRAWN
    draw = session.get(Draw, done.draw_id)
    randomness = {r["label"]: r for r in json.loads(draw.randomness)}
    assert randomness["lottery"]["value"] == "03 07 12 19 26 31 + 09"
    assert randomness["lottery"]["source"] == "双色球第 2027001 期"
    manifest = draws.full_manifest(session, draw)
    files = commitments.commitment_files(draw.commitment) | {
        "SHA256SUMS": draw.commitment.sha256sums.encode()
    }
    assert verify.verify(files, manifest) == []
    with pytest.raises(Conflict):
        batches.enter_value(session, typed=lottery("1 2 3"), **enter)  # drawn: too late to change
    audit_actions = set(session.scalars(select(AuditEntry.action)))
    assert {"batches.value", "batches.fail", "batches.drawn", "batches.commit"} <= audit_actions


def test_a_recurring_plan_has_exactly_one_server_source(session, world, registry):
    with pytest.raises(Invalid) as exc:
        plans.create(
            session,
            actor=world["admin_a"],
            department_id=world["a"].id,
            raw=recurring_values(randomness=[*SERVER, {"label": "s2", "kind": "server"}]),
        )
    assert "一个服务器密值" in exc.value.errors["randomness"][0]


def test_the_scheduler_sets_a_job_at_each_plans_next_due_time(session, db, world, registry, app):
    plan = make_active(session, world, registry, year=dt.date.today().year + 1)
    session.commit()
    scheduler = Scheduler(db, app.config)
    scheduler.rebuild_jobs()
    [job] = scheduler.aps.get_jobs()
    first = batches.schedule(plan, Calendar(), TIMING)[0].due
    assert job.id == f"plan-{plan.id}" and job.trigger.run_date == first
    # A clock set back for a rehearsal: ensure-due asks as of then, the jobs stay real.
    rehearsal = Scheduler(db, app.config, clock=lambda: beijing(2020, 1, 1))
    rehearsal.rebuild_jobs()
    assert [j.id for j in rehearsal.aps.get_jobs()] == [f"plan-{plan.id}"]


def test_a_malformed_batch_time_is_named(app):
    with pytest.raises(ValueError, match="SCHEDULER_BATCH_TIME"):
        batches.Timing.from_config(dict(app.config, SCHEDULER_BATCH_TIME="nine"))
