"""factory_boy factories for every model the tests build, bound to the test's session.

Registry rows (departments, users, entities, inspectors, matters, conflict declarations) are
flushed rows. Plans, commitments, draws and inspection records are made through the services
(plans.create, plans.commit, draws.execute, results.save), so they are what the application
itself would have stored: validated, frozen, drawn and audited. The plan factories need an
`actor` (a department administrator) and, to commit, a department with a registry to draw
from (the `registry` fixture).
"""

from __future__ import annotations

import contextlib
import datetime as dt

import factory
from factory.alchemy import SQLAlchemyModelFactory

from shuangsuiji.db import (
    Commitment,
    ConflictDeclaration,
    Department,
    Draw,
    Entity,
    InspectionRecord,
    Inspector,
    Matter,
    Plan,
    User,
)
from shuangsuiji.db.states import EntityStatus, InspectorStatus, Role
from shuangsuiji.domain.uscc import make as make_uscc
from shuangsuiji.services.accounts.passwords import hash_password
from shuangsuiji.services.plans import draws, plans
from shuangsuiji.services.results import results

TODAY = dt.date(2026, 11, 20)  # the day plans are committed on
DICE = [{"label": "dice", "value": "31415926535897932384", "witnesses": ["张三", "李四"]}]

PASSWORD = "Test-Passw0rd!"  # noqa: S105
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2id is slow on purpose

_session = None


def bind(session) -> None:
    global _session
    _session = session


@contextlib.contextmanager
def bound(session):
    """Bind the factories to another session for a while (a live server's, a worker's)."""
    before = _session
    bind(session)
    try:
        yield session
    finally:
        bind(before)


def plan_values(code="PLAN-001", **overrides) -> dict:
    """What a plan form sends: half of every class, two slots of DEPT-A, dice digits."""
    values = {
        "code": code,
        "title": "2026 年第 11 批企业公示信息抽查",
        "strata": {c: {"ratio": "0.5"} for c in "ABCDX"},
        "slots": ["DEPT-A", "DEPT-A"],
        "workload_cap": 10,
        "randomness": [{"label": "dice", "kind": "digits", "min_len": 20}],
    }
    return values | overrides


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: _session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class DepartmentFactory(Base):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"测试市场监督管理局{n}")
    short_name = ""
    kind = "市场监管"
    level = "city"
    region_code = factory.Sequence(lambda n: f"13{(n % 90) + 10:02d}00")
    parent = None


class UserFactory(Base):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.INSPECTOR
    department = factory.SubFactory(DepartmentFactory)
    password_hash = _PASSWORD_HASH
    must_change_password = False
    active = True


class EntityFactory(Base):
    class Meta:
        model = Entity

    department = factory.SubFactory(DepartmentFactory)
    uscc = factory.Sequence(lambda n: make_uscc(f"91131024{n:09d}"))
    name = factory.Sequence(lambda n: f"测试商贸有限公司{n}")
    region_code = "131002"
    status = EntityStatus.IN_BUSINESS
    risk_class = None


class InspectorFactory(Base):
    class Meta:
        model = Inspector

    department = factory.SubFactory(DepartmentFactory)
    name = factory.Sequence(lambda n: f"检查员{n}")
    cert_no = factory.Sequence(lambda n: f"F{n:07d}")
    region_code = "131002"
    status = InspectorStatus.ACTIVE
    qualifications = "食品"


class MatterFactory(Base):
    class Meta:
        model = Matter

    department = factory.SubFactory(DepartmentFactory)
    code = factory.Sequence(lambda n: f"M-{n:04d}")
    name = "企业公示信息检查"


class ConflictDeclarationFactory(Base):
    """回避声明 of an inspector for an entity of the inspector's department."""

    class Meta:
        model = ConflictDeclaration

    inspector = factory.SubFactory(InspectorFactory)
    entity = factory.SubFactory(
        EntityFactory, department=factory.SelfAttribute("..inspector.department")
    )
    department_id = factory.LazyAttribute(lambda o: o.inspector.department.id)
    reason = "近亲属在该企业任职"
    declared_on = TODAY - dt.timedelta(days=30)


class _ServiceFactory(factory.Factory):
    """A factory whose objects are made by a service call on the bound session."""

    class Meta:
        abstract = True

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError(f"{cls.__name__} makes its rows through the services: use create")


class PlanFactory(_ServiceFactory):
    """A draft plan made with plans.create by `actor`; the keyword arguments not declared here
    override plan_values (strata, slots, workload_cap, recurrence…)."""

    class Meta:
        model = Plan

    actor = None
    department = factory.LazyAttribute(lambda o: o.actor.department)
    code = factory.Sequence(lambda n: f"PLAN-F{n:03d}")
    matters = factory.LazyFunction(list)  # the plan's 抽查事项, none unless given
    slots = factory.LazyAttribute(lambda o: [o.department.code] * 2)

    @classmethod
    def _create(cls, model_class, *, actor, department, code, matters, **values):
        raw = plan_values(code=code, matter_ids=[m.id for m in matters], **values)
        return plans.create(_session, actor=actor, department_id=department.id, raw=raw)


class CommitmentFactory(_ServiceFactory):
    """A plan committed with plans.commit (its inputs frozen) on TODAY."""

    class Meta:
        model = Commitment

    actor = None
    plan = factory.SubFactory(PlanFactory, actor=factory.SelfAttribute("..actor"))
    today = TODAY

    @classmethod
    def _create(cls, model_class, *, actor, plan, today):
        return plans.commit(_session, actor=actor, plan_id=plan.id, today=today)


class DrawFactory(_ServiceFactory):
    """A commitment drawn with draws.execute on the dice digits of DICE."""

    class Meta:
        model = Draw

    actor = None
    commitment = factory.SubFactory(CommitmentFactory, actor=factory.SelfAttribute("..actor"))
    randomness = DICE

    @classmethod
    def _create(cls, model_class, *, actor, commitment, randomness):
        return draws.execute(
            _session, actor=actor, commitment_id=commitment.id, randomness=randomness
        )


def finding(codes=("1",), methods=("field",), measures=("none",), **more) -> dict:
    """One matter's entry: 未发现问题 by 实地检查, no follow-up, unless told otherwise."""
    return {"codes": list(codes), "methods": list(methods), "measures": list(measures)} | more


class InspectionRecordFactory(_ServiceFactory):
    """A drawn entity's results entered with results.save by `actor` (every matter of the
    plan 未发现问题 unless `matters` maps a matter, or its id, to another finding());
    submitted for review with submit=True."""

    class Meta:
        model = InspectionRecord

    actor = None
    draw = None
    position = 0
    checked_on = factory.LazyAttribute(lambda o: o.draw.created_at.astimezone(dt.UTC).date())
    today = factory.LazyAttribute(lambda o: o.checked_on + dt.timedelta(days=1))
    notes = ""
    matters = factory.LazyFunction(dict)
    submit = False

    @classmethod
    def _create(cls, model_class, **given):
        actor, draw, position = given["actor"], given["draw"], given["position"]
        entries = {m.id: finding() for m in draw.plan.matters} | {
            int(getattr(m, "id", m)): entry for m, entry in given["matters"].items()
        }
        raw = {
            "checked_on": given["checked_on"],
            "notes": given["notes"],
            "matters": {str(matter_id): entry for matter_id, entry in entries.items()},
        }
        record = results.save(
            _session, actor=actor, draw_id=draw.id, position=position, raw=raw, today=given["today"]
        )
        if given["submit"]:
            record = results.submit(_session, actor=actor, draw_id=draw.id, position=position)
        return record
