"""Years of a city's history for the history bench (scripts/bench_history.py) and its tests.

The registry (a province bureau, a city bureau and its county bureaus, their entities,
inspectors and matters) is written once in bulk. The first month of history is made through
the product's own services, at the month's own dates (time_machine moves the clock): recurring
plans activated and their batches drawn by the scheduler's job, one-off plans committed and
drawn, a joint plan of the city with a county, every drawn entity's result entered, submitted,
approved and published, the 经营异常名录 candidates listed, the plans closed. That month is the
template: every later month is a copy of its rows, made by the database itself (INSERT …
SELECT), with ids moved past the rows before them, dates moved by whole months, codes renamed
for the month, references to other rows of the month moved with them and references to the
registry kept. A recurring plan is copied once a year (its batches every month), the joint plan
twice a year. The audit trail is copied in Python, each entry hashed again onto the chain, so
that `shuangsuiji audit verify` holds on the whole history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    Integer,
    Interval,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)

from ..db import (
    AuditEntry,
    Base,
    Database,
    Department,
    Entity,
    Inspector,
    Matter,
    Plan,
    User,
    bulk,
)
from ..db.base import UTCDateTime
from ..db.states import BatchStatus, InspectorStatus, ListingStatus, PlanStatus, Role
from ..domain import uscc
from ..services.accounts import departments, users
from ..services.accounts.passwords import hash_password
from ..services.platform import audit
from ..sizes import INT_MAX
from . import synthetic

PASSWORD = "Bench-History-2026"  # noqa: S105 (the bench's own accounts, in a scratch database)
DICE = [{"label": "dice", "value": "27182818284590452353", "witnesses": ["张明（公证员）", "李华"]}]
SERVER = [{"label": "server", "kind": "server"}]
# An entity's result: mostly nothing found; some unreachable (6: a listing candidate, listed
# at the end of the month), some not publishing their information (B: a candidate with an
# order to correct first, left open), some refusing (8).
OUTCOMES = (("1", 93), ("6", 3), ("B", 2), ("8", 2))
# Rows whose objects exist once a year (a recurring plan) or twice (the joint plan).
YEARLY, HALF_YEARLY = 12, 6
# Audit actions on a recurring plan that happen once, when it is made (the rest are batches).
PLAN_SETUP_ACTIONS = ("plans.create", "plans.update", "plans.activate")
# Tables written by the month, other than the audit trail, and how a row's month is found:
# its own date column, or its parent's (column, parent table).
MONTH_OF = {
    "plans": "created_at",
    "plan_participations": ("plan_id", "plans"),
    "plan_matters": ("plan_id", "plans"),
    "plan_departments": ("plan_id", "plans"),
    "plan_commitments": "committed_at",
    "plan_batches": "last_attempt_at",
    "draws": "created_at",
    "draw_entities": ("draw_id", "draws"),
    "draw_assignments": ("draw_id", "draws"),
    "inspection_records": "created_at",
    "inspection_results": ("record_id", "inspection_records"),
    "credit_events": "created_at",
    "abnormal_listings": "created_at",
    "outbox_messages": "created_at",
}
# Rows copied with the row they belong to (their id tells nothing).
OWNED_BY = {"inspection_results": ("record_id", "inspection_records")}
# References that are no foreign keys (the draw rows name their draw without one).
EXTRA_REFS = {
    ("draw_entities", "draw_id"): "draws",
    ("draw_entities", "entity_id"): "entities",
    ("draw_assignments", "draw_id"): "draws",
    ("draw_assignments", "inspector_id"): "inspectors",
}
# "prefix:<id>" text references: the prefix names the table of the id.
SOURCE_PREFIXES = {"inspection:": "inspection_records", "listing:": "abnormal_listings"}
OBJECT_TABLES = {
    "plan": "plans",
    "draw": "draws",
    "inspection_record": "inspection_records",
    "credit_event": "credit_events",
    "abnormal_listing": "abnormal_listings",
    "outbox_message": "outbox_messages",
    "plan_batch": "plan_batches",
}


@dataclass(frozen=True)
class Scale:
    """How big the city is and how busy a month: 11 departments × (12 one-off plans and a
    recurring one) and the joint plan ≈ 144 draws of 18 entities ≈ 2,600 checked a month."""

    entities: int = 270_000
    inspectors: int = 1_197
    matters: int = 487
    counties: int = 10
    once_per_department: int = 12
    counts: tuple[int, int, int, int] = (10, 5, 2, 1)  # drawn per plan in classes A, B, C, D
    seed: int = 19

    @property
    def per_plan(self) -> int:
        return sum(self.counts)


SMALL = Scale(entities=900, inspectors=60, matters=12, counties=2, once_per_department=2)


def month_start(year: int, month: int, k: int) -> dt.date:
    index = year * 12 + month - 1 + k
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months(value: dt.datetime, k: int) -> dt.datetime:
    """`value` moved by k months, its day kept (the template's days are 1–28)."""
    start = month_start(value.year, value.month, k)
    return value.replace(year=start.year, month=start.month)


@dataclass
class World:
    """The registry's ids the month needs: departments (city first), their administrators,
    matters and inspectors' accounts."""

    province_id: int
    city_ids: list[int]
    departments: list[int]  # the city bureau(s) and the county bureaus
    codes: dict[int, str]
    admins: dict[int, int]  # department id → its administrator's user id
    matters: dict[int, list[int]]
    sysadmin_id: int
    auditor_id: int
    inspector_user_id: int  # a county inspector's account, linked to an inspector row
    inspector_id: int


# --- the registry --------------------------------------------------------------------------------


def _department(session, root, values: dict) -> int:
    return departments.create(session, actor=root, values=values).id


def _regions(scale: Scale) -> list[synthetic.refdata.Region]:
    return synthetic.counties("1310")[: scale.counties]


def _load_people(session, scale: Scale, city_count: int) -> tuple[User, int, list, dict]:
    """The system administrator, the province bureau and its auditor, the cities' and
    counties' bureaus with an administrator each."""
    root = User(
        username="admin",
        display_name="系统管理员",
        role=Role.SYSADMIN,
        password_hash=hash_password(PASSWORD),
        must_change_password=False,
    )
    session.add(root)
    session.flush()
    province = _department(
        session,
        root,
        {
            "code": "HE-SAMR",
            "name": "河北省市场监督管理局",
            "kind": "市场监管",
            "level": "province",
            "region_code": "130000",
        },
    )
    tree: list[tuple[int, list[int]]] = []
    codes: dict[int, str] = {}
    for c in range(city_count):
        city_code = "LF-SAMR" if c == 0 else f"C{c:02d}-SAMR"
        city = _department(
            session,
            root,
            {
                "code": city_code,
                "name": "廊坊市市场监督管理局" if c == 0 else f"河北省第{c}市市场监督管理局",
                "kind": "市场监管",
                "level": "city",
                "region_code": "131000",
                "parent_id": province,
            },
        )
        codes[city] = city_code
        counties = []
        for i, region in enumerate(_regions(scale)):
            code = f"{city_code[:-5]}-X{i:02d}-SAMR"
            counties.append(
                _department(
                    session,
                    root,
                    {
                        "code": code,
                        "name": f"{region.name}市场监督管理局" + ("" if c == 0 else f"（第{c}市）"),
                        "kind": "市场监管",
                        "level": "county",
                        "region_code": region.code,
                        "parent_id": city,
                    },
                )
            )
            codes[counties[-1]] = code
        tree.append((city, counties))
    return root, province, tree, codes


def _user(session, root, username: str, role: str, department_id: int | None) -> User:
    values = {"username": username, "display_name": username, "role": role}
    if department_id is not None:
        values["department_id"] = department_id
    user, _ = users.create(session, actor=root, values=values, password=PASSWORD, min_length=10)
    return user


def _entity_rows(rng, scale: Scale, owners: dict[str, int], city: tuple[int, int]) -> Iterator:
    city, city_number = city
    now = dt.datetime.now(dt.UTC)
    for i, row in enumerate(synthetic.entities(rng, scale.entities, region_prefix="1310")):
        code = row["uscc"]
        if city_number:  # another city: the same entity with a USCC of its own
            code = uscc.make(code[:8] + synthetic.USCC_ALPHABET[city_number] + code[9:17])
        yield {
            # every tenth entity is the city bureau's own (it plans and draws too)
            "department_id": city if i % 10 == 0 else owners[row["region_code"]],
            "uscc": code,
            "name": row["name"],
            "entity_type": row["entity_type"],
            "industry_code": row["industry_code"],
            "region_code": row["region_code"],
            "registered_on": dt.date.fromisoformat(row["registered_on"]),
            "status": row["status"],
            "address": row["address"],
            "abnormal_listed": False,
            "risk_class": row["risk_class"],
            "risk_class_month": row["risk_class_month"],
            "check_count": 0,
            "created_at": now,
            "updated_at": now,
        }


def _bulk(connection: Connection, table, rows: Iterator[dict], chunk: int = 50_000) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            bulk.insert_rows(connection, table, batch)
            batch = []
    bulk.insert_rows(connection, table, batch)


def _registry(connection: Connection, scale: Scale, tree, offset: int) -> None:
    """Entities, inspectors and matters of one city (`offset`: the city's number), in bulk."""
    rng = random.Random(scale.seed)  # the same rows in every city (copies map them by position)
    city, counties = tree
    regions = _regions(scale)
    owners = {r.code: d for r, d in zip(regions, counties, strict=True)}
    # Entities of counties beyond the scale's go to the city bureau.
    for region in synthetic.counties("1310"):
        owners.setdefault(region.code, city)
    now = dt.datetime.now(dt.UTC)
    _bulk(connection, Entity.__table__, _entity_rows(rng, scale, owners, (city, offset)))
    everyone = [city, *counties]
    inspectors = []
    for i, row in enumerate(
        synthetic.inspectors(rng, scale.inspectors, region_prefix="1310", cert_prefix="13")
    ):
        inspectors.append(
            {
                "department_id": everyone[i % len(everyone)],
                "name": row["name"],
                "cert_no": f"{offset:02d}{row['cert_no']}",
                "cert_issuer": row["cert_issuer"],
                "region_code": row["region_code"],
                "qualifications": row["qualifications"],
                "status": InspectorStatus.ACTIVE,
                "is_expert": False,
                "mobile": f"13{offset:01d}{i + 1:08d}"[:11],
                "created_at": now,
                "updated_at": now,
            }
        )
    _bulk(connection, Inspector.__table__, iter(inspectors))
    names = [m["name"] for m in synthetic.matters()]
    _bulk(
        connection,
        Matter.__table__,
        (
            {
                "department_id": everyone[i % len(everyone)],
                "code": f"M{offset:02d}-{i + 1:04d}",
                "name": f"{names[i % len(names)]}（{i + 1}）",
                "category": "一般",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(scale.matters)
        ),
    )


def build_registry(db: Database, scale: Scale, *, cities: int = 1) -> World:
    """The departments, accounts and registries (the bench's fixed part, not history)."""
    with db.transaction() as session:
        root, province, tree, codes = _load_people(session, scale, cities)
        auditor = _user(session, root, "prov_auditor", Role.AUDITOR, province)
        admins = {}
        for city, counties in tree:
            for department in (city, *counties):
                admins[department] = _user(
                    session, root, f"admin_{codes[department].lower()}", Role.DEPT_ADMIN, department
                ).id
        county = tree[0][1][0]
        inspector_user = _user(session, root, "county_inspector", Role.INSPECTOR, county)
        ids = (root.id, auditor.id, inspector_user.id)
    with db.engine.begin() as connection:
        for offset, branch in enumerate(tree):
            _registry(connection, scale, branch, offset)
        build_ring(connection)
    with db.transaction() as session:
        inspector = session.scalars(
            select(Inspector).where(Inspector.department_id == county).order_by(Inspector.id)
        ).first()
        inspector.user_id = ids[2]
        matters: dict[int, list[int]] = {}
        for department_id, matter_id in session.execute(
            select(Matter.department_id, Matter.id).order_by(Matter.id)
        ):
            matters.setdefault(department_id, []).append(matter_id)
        inspector_id = inspector.id
    everyone = [d for city, counties in tree for d in (city, *counties)]
    return World(
        province_id=province,
        city_ids=[city for city, _ in tree],
        departments=everyone,
        codes=codes,
        admins=admins,
        matters=matters,
        sysadmin_id=ids[0],
        auditor_id=ids[1],
        inspector_user_id=ids[2],
        inspector_id=inspector_id,
    )


# The bench's own table (not the product's): each entity's place among its department's
# entities of its credit-risk class, so that month k's copy checks other firms of the same
# department and class than the template did (a firm is not checked every month).
RING = Table(
    "bench_entity_ring",
    MetaData(),
    Column("entity_id", Integer, primary_key=True),
    Column("department_id", Integer, nullable=False),
    Column("cls", String(1), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Index("ix_bench_entity_ring_place", "department_id", "cls", "rank"),
)
RING_STEP = 137  # firms a month moves on in its class (a prime: the months do not repeat soon)


def build_ring(connection: Connection) -> None:
    RING.drop(connection, checkfirst=True)
    RING.create(connection)
    entities = Entity.__table__
    cls = func.coalesce(entities.c.risk_class, "")
    window = {"partition_by": (entities.c.department_id, cls)}
    connection.execute(
        insert(RING).from_select(
            ["entity_id", "department_id", "cls", "rank", "size"],
            select(
                entities.c.id,
                entities.c.department_id,
                cls,
                func.row_number().over(order_by=entities.c.id, **window) - 1,
                func.count().over(**window),
            ),
        )
    )


def _ringed(entity, k: int, table: Table, column: str = "entity_id"):
    """The entity (or its `column`, e.g. uscc) `k` months on from `entity` in its
    department's ring of its class; a subquery correlated to the copied `table`."""
    here, there = RING.alias("here"), RING.alias("there")
    entities = Entity.__table__
    return (
        select(entities.c[column if column != "entity_id" else "id"])
        .select_from(
            here.join(
                there,
                and_(
                    there.c.department_id == here.c.department_id,
                    there.c.cls == here.c.cls,
                    there.c.rank == (here.c.rank + k * RING_STEP) % here.c.size,
                ),
            ).join(entities, entities.c.id == there.c.entity_id)
        )
        .where(here.c.entity_id == entity)
        .correlate(table)
        .scalar_subquery()
    )


def world_of(db: Database) -> World:
    """The World of a history database build_registry made (for measuring it again)."""
    with db.transaction(write=False) as session:
        every = session.scalars(select(Department).order_by(Department.id)).all()
        people = {u.username: u for u in session.scalars(select(User))}
        admins = {u.department_id: u.id for u in people.values() if u.role == Role.DEPT_ADMIN}
        inspector = session.scalars(
            select(Inspector).where(Inspector.user_id == people["county_inspector"].id)
        ).one()
        province = next(d.id for d in every if d.level == "province")
        return World(
            province_id=province,
            city_ids=[d.id for d in every if d.level == "city"],
            departments=[d.id for d in every if d.id != province],
            codes={d.id: d.code for d in every},
            admins=admins,
            matters={},
            sysadmin_id=people["admin"].id,
            auditor_id=people["prov_auditor"].id,
            inspector_user_id=people["county_inspector"].id,
            inspector_id=inspector.id,
        )


# --- the first month, through the services -------------------------------------------------------


@dataclass
class MonthLog:
    draws: list[int] = field(default_factory=list)
    records: int = 0
    listed: int = 0
    delivered: int = 0


def _strata(scale: Scale, per_year: int = 1) -> dict:
    strata = {c: {"count": n * per_year} for c, n in zip("ABCD", scale.counts, strict=True)}
    return strata | {"X": {"count": 0}}


def _plan_values(world: World, department: int, *, code: str, title: str, scale: Scale) -> dict:
    matters = world.matters.get(department, [])
    return {
        "code": code,
        "title": title,
        "matter_ids": matters[:2],
        "strata": _strata(scale),
        "slots": [world.codes[department]] * 2,
        "workload_cap": 20,
        "cooldown_months": 0,
        "randomness": [{"label": "dice", "kind": "digits", "min_len": 20}],
        "publish_mode": "after_fieldwork",
    }


class Clock:
    """The month's wall clock: time_machine moved to a day and hour of the template month."""

    def __init__(self, first: dt.date):
        import time_machine  # a dev extra: the bench checks it first (benchenv)

        self._travel = time_machine.travel
        self.first = first

    def at(self, day: int, hour: int = 10, minute: int = 0):
        when = dt.datetime(self.first.year, self.first.month, day, hour, minute, tzinfo=dt.UTC)
        return self._travel(when, tick=False)

    def date(self, day: int) -> dt.date:
        return self.first.replace(day=day)


def _recurring(db: Database, world: World, clock: Clock, scale: Scale, timing) -> None:
    from ..services.plans import batches, plans

    year = clock.first.year
    for n, department in enumerate(world.departments):
        with clock.at(1, 10, n % 60), db.transaction() as session:
            admin = session.get(User, world.admins[department])
            values = _plan_values(
                world,
                department,
                code=f"{world.codes[department]}-Y{year}-R",
                title=f"{year}年度企业公示信息随机抽查计划",
                scale=scale,
            ) | {
                "recurrence": "monthly",
                "plan_year": year,
                "randomness": SERVER,
                "strata": _strata(scale, 12),
            }
            plan = plans.create(session, actor=admin, department_id=department, raw=values)
            batches.activate(
                session,
                actor=admin,
                plan_id=plan.id,
                now=dt.datetime.now(dt.UTC),
                timing=timing,
            )


def _once(db: Database, world: World, clock: Clock, scale: Scale, log: MonthLog) -> None:
    from ..services.plans import draws, plans

    tag = f"M{clock.first:%Y%m}"
    for n in range(scale.once_per_department):
        day = 3 + n * 20 // max(scale.once_per_department, 1)
        for i, department in enumerate(world.departments):
            with clock.at(day, 9, i % 60), db.transaction() as session:
                admin = session.get(User, world.admins[department])
                values = _plan_values(
                    world,
                    department,
                    code=f"{world.codes[department]}-{tag}-{n + 1:02d}",
                    title=f"{clock.first:%Y年%m月}第{n + 1}批企业公示信息随机抽查",
                    scale=scale,
                ) | {
                    "fieldwork_start": clock.date(day).isoformat(),
                    "fieldwork_end": clock.date(25).isoformat(),
                }
                plan = plans.create(session, actor=admin, department_id=department, raw=values)
                commitment = plans.commit(
                    session, actor=admin, plan_id=plan.id, today=clock.date(day)
                )
                draw = draws.execute(
                    session, actor=admin, commitment_id=commitment.id, randomness=DICE
                )
                log.draws.append(draw.id)


def _joint(db: Database, world: World, clock: Clock, scale: Scale, log: MonthLog) -> None:
    """The city bureau's joint plan with its first county bureau (twice a year)."""
    from ..services.plans import draws, participation, plans

    city, county = world.departments[0], world.departments[1]
    with clock.at(4), db.transaction() as session:
        admin = session.get(User, world.admins[city])
        values = _plan_values(
            world,
            city,
            code=f"{world.codes[city]}-M{clock.first:%Y%m}-J",
            title=f"{clock.first:%Y年%m月}跨部门联合抽查",
            scale=scale,
        ) | {"slots": [world.codes[city], world.codes[county]]}
        values["matter_ids"] = world.matters[city][:1] + world.matters[county][:1]
        plan = plans.create(session, actor=admin, department_id=city, raw=values)
        plan_id = plan.id
    with clock.at(4, 15), db.transaction() as session:
        participation.decide(
            session,
            actor=session.get(User, world.admins[county]),
            plan_id=plan_id,
            department_id=county,
            accept=True,
        )
    with clock.at(5), db.transaction() as session:
        admin = session.get(User, world.admins[city])
        commitment = plans.commit(session, actor=admin, plan_id=plan_id, today=clock.date(5))
        draw = draws.execute(session, actor=admin, commitment_id=commitment.id, randomness=DICE)
        log.draws.append(draw.id)


def _batches(db: Database, clock: Clock, timing, log: MonthLog) -> None:
    from ..scheduler import batch_jobs

    with clock.at(20):
        now = dt.datetime.now(dt.UTC)
        outcomes = batch_jobs.ensure_due(db, now=now, timing=timing)
    failed = [o for o in outcomes if o.result != BatchStatus.DRAWN]
    if failed or not outcomes:
        raise RuntimeError(f"batches not drawn: {failed[:3]}")
    log.draws.extend(o.draw_id for o in outcomes)


def _entry(code: str, matters, checked_on: dt.date) -> dict:
    measures = ["none"] if code == "1" else ["order"]
    entry = {"codes": [code], "methods": ["field"], "measures": measures}
    return {
        "checked_on": checked_on,
        "notes": "",
        "matters": {str(m.id): entry for m in matters},
    }


def _results(db: Database, world: World, clock: Clock, scale: Scale, log: MonthLog) -> None:
    """Every drawn entity's result entered by the administrator of each matter's department
    (a joint plan's participants enter their own matters) and submitted by the plan's
    department, then approved (published) by the system administrator."""
    from ..db import Draw
    from ..services.plans import draws
    from ..services.results import results

    rng = random.Random(scale.seed)
    codes = [c for c, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    for draw_id in log.draws:
        with clock.at(26, 10), db.transaction() as session:
            draw = session.get(Draw, draw_id)
            plan = draw.plan
            admin = session.get(User, world.admins[plan.department_id])
            root = session.get(User, world.sysadmin_id)
            by_department: dict[int, list] = {}
            for matter in plan.matters:
                by_department.setdefault(matter.department_id, []).append(matter)
            for row in draws.teams(session, draw, limit=10_000):
                where = {"draw_id": draw_id, "position": row.drawn.position}
                code = rng.choices(codes, weights=weights)[0]
                for department_id, matters in by_department.items():
                    entrant = session.get(User, world.admins[department_id])
                    raw = _entry(code, matters, clock.date(24))
                    results.save(session, actor=entrant, raw=raw, today=clock.date(26), **where)
                results.submit(session, actor=admin, **where)
                results.review(session, actor=root, decision="approve", comment="", **where)
                log.records += 1


def _listings(db: Database, world: World, clock: Clock) -> int:
    from ..db import AbnormalListing
    from ..services.results import credit

    listed = 0
    with clock.at(27), db.transaction() as session:
        candidates = session.scalars(
            select(AbnormalListing)
            .where(
                AbnormalListing.status == ListingStatus.CANDIDATE,
                AbnormalListing.order_deadline.is_(None),
            )
            .order_by(AbnormalListing.id)
        ).all()
        for listing in candidates:
            admin = session.get(User, world.admins[listing.department_id])
            credit.decide(
                session, actor=admin, listing_id=listing.id, action="list", today=clock.date(27)
            )
            listed += 1
    return listed


def _close(db: Database, world: World, clock: Clock) -> None:
    from ..services.plans import plans

    with clock.at(28), db.transaction() as session:
        drawn = session.scalars(
            select(Plan).where(Plan.status == PlanStatus.DRAWN).order_by(Plan.id)
        ).all()
        for plan in drawn:
            admin = session.get(User, world.admins[plan.department_id])
            plans.close(session, actor=admin, plan_id=plan.id)


def _deliver(db: Database, clock: Clock) -> int:
    """The dispatcher's month: every webhook to the credit platform delivered (claimed and
    recorded sent, as worker/outbox.py does once the platform answers), then the scheduler's
    housekeeping (SMS that no gateway collected within 72 hours expire)."""
    from ..scheduler import housekeeping
    from ..services.platform import outbox

    sent = 0
    with clock.at(28, 12):
        while True:
            with db.transaction() as session:
                batch = outbox.claim_due(
                    session, channels=("webhook",), limit=500, lease=dt.timedelta(minutes=5)
                )
                for message in batch:
                    outbox.record_sent(session, message.id)
                sent += len(batch)
            if not batch:
                break
    with clock.at(28, 23):
        housekeeping.run(
            db,
            settings=outbox.Settings(),
            stage_retention=dt.timedelta(days=1),
            now=dt.datetime.now(dt.UTC),
        )
    return sent


def housekeep(db: Database, now: dt.datetime) -> None:
    """The scheduler's housekeeping at `now`: sent and expired messages past the retention
    are deleted, as a deployment's scheduler would have done along the years."""
    from ..scheduler import housekeeping
    from ..services.platform import outbox

    housekeeping.run(db, settings=outbox.Settings(), stage_retention=dt.timedelta(days=1), now=now)


def service_month(db: Database, world: World, first: dt.date, scale: Scale) -> MonthLog:
    """The template month, through the services, at its own dates."""
    from ..services.plans.batches import Timing
    from ..services.results import credit

    timing = Timing(dt.time(9, 0), synthetic_zone(), dt.timedelta(minutes=30))
    credit.install(
        credit.CreditSettings(webhook_url="https://credit.example.gov.cn/feed")
    )  # every event also queued for the credit platform
    clock = Clock(first)
    log = MonthLog()
    # The first city's bureaus: the other cities' months are copies (copy_month's city).
    world = dataclasses.replace(world, departments=world.departments[: 1 + scale.counties])
    try:
        _recurring(db, world, clock, scale, timing)
        _joint(db, world, clock, scale, log)
        _once(db, world, clock, scale, log)
        _batches(db, clock, timing, log)
        _results(db, world, clock, scale, log)
        log.listed = _listings(db, world, clock)
        _close(db, world, clock)
        log.delivered = _deliver(db, clock)
    finally:
        credit.install(credit.CreditSettings())
    return log


def synthetic_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


# --- the template and its copies -----------------------------------------------------------------


@dataclass
class Span:
    """A table's template rows: ids lo..hi, copy k's ids are id + k × size."""

    lo: int
    hi: int
    periods: dict[int, int] = field(default_factory=dict)  # id → 12 or 6 (1 when absent)

    @property
    def size(self) -> int:
        return self.hi - self.lo + 1

    def ids_with(self, period: int) -> list[int]:
        return sorted(i for i, p in self.periods.items() if p == period)


@dataclass
class Template:
    first: dt.date
    spans: dict[str, Span]  # tables with an integer id
    audit_lo: int  # the template's audit entries: seq audit_lo..audit_hi
    audit_hi: int
    baseline: dict[str, int]  # the largest id of each table before the month
    months: int = 1  # copies per city: city c's month k is copy c × months + k
    # Registry rows of the template's city and how far the next city's are: table → (lo, hi,
    # step); references to them move by c × step in city c's copies.
    shifts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    codes: str = "LF-"  # the template city's department codes begin so
    cities: int = 1

    def slot(self, k: int, city: int) -> int:
        return city * self.months + k


def city_shifts(world: World, scale: Scale) -> dict[str, tuple[int, int, int]]:
    """Where the first city's registry rows lie and how far apart the cities' are (they were
    made in the same order, city after city: build_registry)."""
    bureaus = 1 + scale.counties
    first = world.departments[:bureaus]
    admins = sorted(world.admins[d] for d in first)
    return {
        "departments": (min(first), max(first), bureaus),
        "users": (admins[0], admins[-1], bureaus),
        "entities": (1, INT_MAX, scale.entities),
        "inspectors": (1, INT_MAX, scale.inspectors),
        "matters": (1, INT_MAX, scale.matters),
    }


def id_tables() -> dict[str, Table]:
    """The history tables with a single integer primary key `id`."""
    found = {}
    for name in MONTH_OF:
        table = Base.metadata.tables[name]
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and keys[0].name == "id":
            found[name] = table
    return found


def baseline(connection: Connection) -> dict[str, int]:
    tables = id_tables()
    marks = {
        name: connection.scalar(select(func.coalesce(func.max(t.c.id), 0)))
        for name, t in tables.items()
    }
    marks["audit_entries"] = connection.scalar(select(func.coalesce(func.max(AuditEntry.seq), 0)))
    return marks


def _periods(connection: Connection, spans: dict[str, Span]) -> None:
    """Which template rows belong to a recurring plan (yearly) or the joint plan (twice a
    year): the plan rows themselves; everything else of the joint plan."""
    plans = Base.metadata.tables["plans"]
    for plan_id, recurrence in connection.execute(
        select(plans.c.id, plans.c.recurrence).where(plans.c.id >= spans["plans"].lo)
    ):
        if recurrence != "once":
            spans["plans"].periods[plan_id] = YEARLY
    joint = connection.scalars(
        select(Base.metadata.tables["plan_departments"].c.plan_id).where(
            Base.metadata.tables["plan_departments"].c.plan_id >= spans["plans"].lo
        )
    ).all()
    for plan_id in joint:
        spans["plans"].periods[plan_id] = HALF_YEARLY
    if not joint:
        return
    owned = {
        "plan_participations": "plan_id",
        "plan_commitments": "plan_id",
        "draws": "plan_id",
        "inspection_records": "plan_id",
    }
    for name, column in owned.items():
        table = Base.metadata.tables[name]
        for row_id in connection.scalars(
            select(table.c.id).where(table.c[column].in_(joint), table.c.id >= spans[name].lo)
        ):
            spans[name].periods[row_id] = HALF_YEARLY
    records = spans["inspection_records"].ids_with(HALF_YEARLY)
    sources = [f"inspection:{r}" for r in records]
    for name in ("credit_events", "abnormal_listings"):
        table = Base.metadata.tables[name]
        for row_id in connection.scalars(
            select(table.c.id).where(table.c.source.in_(sources), table.c.id >= spans[name].lo)
        ):
            spans[name].periods[row_id] = HALF_YEARLY
    listings = [f"listing:{i}" for i in spans["abnormal_listings"].ids_with(HALF_YEARLY)]
    events = Base.metadata.tables["credit_events"]
    for row_id in connection.scalars(
        select(events.c.id).where(
            events.c.source.in_(listings), events.c.id >= spans["credit_events"].lo
        )
    ):
        spans["credit_events"].periods[row_id] = HALF_YEARLY


def template(
    connection: Connection,
    marks: dict[str, int],
    first: dt.date,
    *,
    months: int = 1,
    shifts: dict | None = None,
    cities: int = 1,
) -> Template:
    """The rows the service month wrote (everything past `marks`), to be copied into `months`
    months of `cities` cities (`shifts`: city_shifts)."""
    spans = {}
    for name, table in id_tables().items():
        hi = connection.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        if hi > marks[name]:
            spans[name] = Span(marks[name] + 1, hi)
    for name in ("plans", "plan_commitments", "draws", "inspection_records"):
        if name not in spans:
            raise RuntimeError(f"the template month wrote no {name}")
    for name in ("credit_events", "abnormal_listings", "plan_participations"):
        spans.setdefault(name, Span(1, 0))
    _periods(connection, spans)
    audit_hi = connection.scalar(select(func.max(AuditEntry.seq)))
    return Template(
        first,
        spans,
        marks["audit_entries"] + 1,
        audit_hi,
        marks,
        months=months,
        shifts=shifts or {},
        cities=cities,
    )


def _months(k: int):
    return literal_column(f"interval '{k} months'", type_=Interval)


def _shift_time(column, k: int, dialect: str):
    if dialect == "postgresql":
        return column + _months(k)
    return func.strftime("%Y-%m-%d %H:%M:%f000", column, f"+{k} months")


def _shift_date(column, k: int, dialect: str):
    if dialect == "postgresql":
        return cast(column + _months(k), Date)
    return func.date(column, f"+{k} months")


def _moved_id(column, span: Span, k: int, base: int = 0):
    """A reference to a template row moved to month k's copy (the year's or the half-year's
    for a yearly or half-yearly row) in the city whose copies start at `base`; references
    outside the template stay."""
    whens = []
    for period in (YEARLY, HALF_YEARLY):
        ids = span.ids_with(period)
        if ids:
            whens.append((column.in_(ids), column + (base + k - k % period) * span.size))
    whens.append((and_(column >= span.lo, column <= span.hi), column + (base + k) * span.size))
    return case(*whens, else_=column)


def _moved_source(column, spans: dict[str, Span], k: int, base: int):
    whens = []
    for prefix, name in SOURCE_PREFIXES.items():
        span = spans[name]
        number = cast(func.substr(column, len(prefix) + 1), Integer)
        moved = _moved_id(number, span, k, base)
        whens.append((column.like(f"{prefix}%"), literal(prefix) + cast(moved, String)))
    return case(*whens, else_=column)


def _shifted(column, shift: tuple[int, int, int], city: int):
    lo, hi, step = shift
    return case((and_(column >= lo, column <= hi), column + city * step), else_=column)


def _renamer(tmpl: Template, k: int, city: int) -> Callable:
    """Codes and titles of the month renamed for copy k (M201701 → M201703, 2017-01 → …),
    and the department codes for another city's copy."""
    first = tmpl.first
    target = month_start(first.year, first.month, k)
    year = month_start(first.year, first.month, k - k % YEARLY)
    pairs = [(tmpl.codes, f"C{city:02d}-")] if city else []
    pairs += [
        (f"M{first:%Y%m}", f"M{target:%Y%m}"),
        (f"{first:%Y年%m月}", f"{target:%Y年%m月}"),
        (f"{first:%Y-%m}", f"{target:%Y-%m}"),
        (f"Y{first.year}", f"Y{year.year}"),
        (f"{first.year}年度", f"{year.year}年度"),
    ]

    def rename(column):
        for old, new in pairs:
            column = func.replace(column, old, new)
        return column

    return rename


RENAMED = {
    ("plans", "code"),
    ("plans", "slots"),
    ("plans", "title"),
    ("plan_commitments", "srdp_id"),
    ("plan_commitments", "batch_key"),
    ("draws", "batch_key"),
    ("plan_batches", "key"),
    ("outbox_messages", "subject"),
    ("outbox_messages", "body"),
}


def _references(table: Table) -> dict[str, str]:
    refs = {}
    for fk in table.foreign_keys:
        refs[fk.parent.name] = fk.column.table.name
    for (name, column), target in EXTRA_REFS.items():
        if name == table.name:
            refs[column] = target
    return refs


@dataclass
class Copy:
    template: Template
    k: int
    dialect: str
    city: int = 0

    @property
    def spans(self) -> dict[str, Span]:
        return self.template.spans

    @property
    def base(self) -> int:
        return self.template.slot(0, self.city)

    def reference(self, table: Table, column: Column):
        """A reference to a row of the month or (in another city) of the registry."""
        target = _references(table).get(column.name)
        if column.name == "id" and table.name in self.spans:
            target = table.name
        if target in self.spans:
            return _moved_id(column, self.spans[target], self.k, self.base)
        moved = None
        if self.city and target in self.template.shifts:
            moved = _shifted(column, self.template.shifts[target], self.city)
        if target == "entities" and self.k:
            moved = _ringed(column if moved is None else moved, self.k, table)
        return moved

    def expression(self, table: Table, column: Column, rename: Callable):  # noqa: C901 (a table of cases)
        name = column.name
        moved = self.reference(table, column)
        if moved is not None:
            return moved
        if isinstance(column.type, UTCDateTime):
            return _shift_time(column, self.k, self.dialect)
        if isinstance(column.type, Date):
            return _shift_date(column, self.k, self.dialect)
        if (table.name, name) in RENAMED:
            return rename(column)
        if name == "plan_year":
            return column + self.k // YEARLY
        if name == "source":
            return _moved_source(column, self.spans, self.k, self.base)
        if name == "dedup_key":
            return column + f"#{self.template.slot(self.k, self.city)}"
        if name == "uscc" and (self.city or self.k) and "entity_id" in table.c:
            # The uscc of the entity the copy names (entity_id's own expression).
            entity = table.c.entity_id
            if self.city:
                entity = _shifted(entity, self.template.shifts["entities"], self.city)
            if self.k:
                return _ringed(entity, self.k, table, "uscc")
            entities = Entity.__table__
            return (
                select(entities.c.uscc)
                .where(entities.c.id == entity)
                .correlate(table)
                .scalar_subquery()
            )
        if (table.name, name) == ("plan_commitments", "seq"):
            yearly = self.spans["plans"].ids_with(YEARLY)
            return case((table.c.plan_id.in_(yearly), column + self.k % YEARLY), else_=column)
        return column

    def _where(self, column, span: Span) -> list:
        where = [column >= span.lo, column <= span.hi]
        for period in (YEARLY, HALF_YEARLY):
            ids = span.ids_with(period)
            if ids and self.k % period:
                where.append(column.not_in(ids))
        return where

    def rows(self, table: Table):
        """The template rows of `table` that copy k repeats."""
        if table.name in self.spans:
            where = self._where(table.c.id, self.spans[table.name])
            if table.name in OWNED_BY:  # a row of a joint plan's record: with the record
                column, parent = OWNED_BY[table.name]
                where += self._where(table.c[column], self.spans[parent])[2:]
            return and_(*where)
        column, parent = MONTH_OF[table.name]
        return and_(*self._where(table.c[column], self.spans[parent]))

    def statement(self, table: Table):
        rename = _renamer(self.template, self.k, self.city)
        columns = list(table.columns)
        chosen = select(*(self.expression(table, c, rename) for c in columns)).where(
            self.rows(table)
        )
        return insert(table).from_select([c.name for c in columns], chosen)


def history_tables() -> list[Table]:
    """The tables a month writes (without the audit trail), parents first."""
    return [t for t in Base.metadata.sorted_tables if t.name in MONTH_OF]


def copy_month(connection: Connection, tmpl: Template, k: int, *, city: int = 0) -> None:
    """Month k's copy of the template (k months after it; in city `city`'s registry), in
    `connection`'s transaction. The audit trail is AuditWriter's. Month 0 of the first city
    is the template itself."""
    if not (k or city):
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    job = Copy(tmpl, k, dialect, city)
    for table in history_tables():
        if table.name in tmpl.spans or MONTH_OF[table.name][1] in tmpl.spans:
            connection.execute(job.statement(table))


# --- the audit trail -----------------------------------------------------------------------------


AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "department_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)


def _entry_period(spans: dict[str, Span], entry) -> int:
    name = OBJECT_TABLES.get(entry.object_type)
    if name is None or name not in spans or not entry.object_id.isdigit():
        return 1
    period = spans[name].periods.get(int(entry.object_id), 1)
    if period == YEARLY and entry.action not in PLAN_SETUP_ACTIONS:
        return 1
    return period


def _moved_object(tmpl: Template, entry, k: int, city: int) -> str:
    name = OBJECT_TABLES.get(entry.object_type)
    spans = tmpl.spans
    if name is None or name not in spans or not entry.object_id.isdigit():
        return entry.object_id
    span, value = spans[name], int(entry.object_id)
    if not span.lo <= value <= span.hi:
        return entry.object_id
    period = span.periods.get(value, 1)
    return str(value + (tmpl.slot(k - k % period, city)) * span.size)


def _shift_value(tmpl: Template, table: str, value: int | None, city: int) -> int | None:
    if not city or value is None or table not in tmpl.shifts:
        return value
    lo, hi, step = tmpl.shifts[table]
    return value + city * step if lo <= value <= hi else value


class AuditWriter:
    """Appends copies of the template's entries to the chain, each hashed onto the last."""

    def __init__(self, connection: Connection, tmpl: Template):
        self.tmpl = tmpl
        table = AuditEntry.__table__
        rows = connection.execute(
            select(table)
            .where(table.c.seq >= tmpl.audit_lo, table.c.seq <= tmpl.audit_hi)
            .order_by(table.c.seq)
        ).all()
        self.entries = [SimpleNamespace(**row._mapping) for row in rows]
        self.periods = [_entry_period(tmpl.spans, e) for e in self.entries]
        head = connection.execute(
            select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
        ).one()
        self.seq, self.hash = head

    def rows(self, k: int, city: int = 0) -> list[tuple]:
        tmpl = self.tmpl
        out = []
        for entry, period in zip(self.entries, self.periods, strict=True):
            if k % period:
                continue
            copy = SimpleNamespace(
                at=add_months(entry.at, k),
                actor_id=_shift_value(tmpl, "users", entry.actor_id, city),
                actor_name=entry.actor_name,
                department_id=_shift_value(tmpl, "departments", entry.department_id, city),
                action=entry.action,
                object_type=entry.object_type,
                object_id=_moved_object(tmpl, entry, k, city),
                before=entry.before,
                after=entry.after,
                prev_hash=self.hash,
            )
            self.seq += 1
            self.hash = audit.entry_hash(copy)
            out.append((self.seq, *(getattr(copy, c) for c in AUDIT_COLUMNS[1:-1]), self.hash))
        return out

    def write(self, connection: Connection, k: int, *, city: int = 0) -> int:
        """Append month k's copy (in city `city`); month 0 of the first city is the template."""
        if not (k or city):
            return 0
        # The chain's head as it is now: signing in, housekeeping and checkpoints between
        # two copies (the bench's measurements) append entries of their own.
        table = AuditEntry.__table__
        self.seq, self.hash = connection.execute(
            select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
        ).one()
        rows = self.rows(k, city)
        if connection.dialect.name == "postgresql":
            cursor = connection.connection.driver_connection.cursor()
            statement = f"COPY audit_entries ({', '.join(AUDIT_COLUMNS)}) FROM STDIN"
            with cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            table = AuditEntry.__table__
            connection.execute(
                insert(table), [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in rows]
            )
        return len(rows)


def reset_sequences(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    for name in id_tables():
        # `name` is one of the model's table names, not input.
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 1) FROM {name}))"
            )
        )


def set_month_status(connection: Connection, tmpl: Template, k: int, *, open_: bool) -> None:
    """Month k's one-off plans (every city's) still at work (drawn), or closed again: the
    newest month's plans are open when the pages are timed, so that the lists of open tasks
    have something to show."""
    span = tmpl.spans["plans"]
    plans = Base.metadata.tables["plans"]
    old, new = (
        (PlanStatus.CLOSED, PlanStatus.DRAWN) if open_ else (PlanStatus.DRAWN, PlanStatus.CLOSED)
    )
    for city in range(tmpl.cities):
        lo = span.lo + tmpl.slot(k, city) * span.size
        connection.execute(
            plans.update()
            .where(plans.c.id.between(lo, lo + span.size - 1), plans.c.recurrence == "once")
            .where(plans.c.status == old)
            .values(status=new)
        )


def checkpoints(db: Database, today: dt.date) -> int:
    """The daily audit checkpoints of every day of the history (the scheduler's job)."""
    with db.transaction() as session:
        return len(audit.ensure_checkpoints(session, today=today, tz=synthetic_zone()))


# --- the month's shape (what the shape test compares) --------------------------------------------


def _month_rows(connection: Connection, name: str, first: dt.date) -> list[int] | None:
    """Ids (or parent ids) of `name`'s rows made in the month starting on `first`."""
    how = MONTH_OF[name]
    table = Base.metadata.tables[name]
    nxt = month_start(first.year, first.month, 1)
    start = dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(nxt.year, nxt.month, 1, tzinfo=dt.UTC)
    if isinstance(how, str):
        return connection.scalars(
            select(table.c.id).where(table.c[how] >= start, table.c[how] < end)
        ).all()
    return None


def month_shape(connection: Connection, first: dt.date) -> dict:
    """Per table, the shape of the rows the month starting on `first` made: how many (as a
    share of the month's draws), which columns are never NULL, the statuses and kinds, and
    where each reference points (a row of this month, of an earlier month, of the
    registry)."""
    ids: dict[str, list[int]] = {}
    shape: dict[str, dict] = {}
    dated = [t for t in history_tables() if isinstance(MONTH_OF[t.name], str)]
    for table in dated + [t for t in history_tables() if t not in dated]:
        name = table.name
        how = MONTH_OF[name]
        if isinstance(how, str):
            ids[name] = _month_rows(connection, name, first)
            where = table.c.id.in_(ids[name])
        else:
            column, parent = how
            where = table.c[column].in_(ids.get(parent, []))
        rows = [r._mapping for r in connection.execute(select(table).where(where))]
        shape[name] = _table_shape(table, rows, ids)
    audit_rows = _audit_month(connection, first)
    shape["audit_entries"] = {
        "rows": len(audit_rows),
        "actions": sorted({r.action for r in audit_rows}),
        "object_types": sorted({r.object_type for r in audit_rows}),
        "not_null": sorted(
            c for c in AUDIT_COLUMNS if all(getattr(r, c) is not None for r in audit_rows)
        ),
    }
    return shape


def _audit_month(connection: Connection, first: dt.date):
    nxt = month_start(first.year, first.month, 1)
    start = dt.datetime(first.year, first.month, 1, tzinfo=dt.UTC)
    end = dt.datetime(nxt.year, nxt.month, 1, tzinfo=dt.UTC)
    table = AuditEntry.__table__
    return connection.execute(select(table).where(table.c.at >= start, table.c.at < end)).all()


KINDS = ("status", "recurrence", "channel", "event_type", "rule", "kind", "publish_mode")


def _table_shape(table: Table, rows: list, ids: dict[str, list[int]]) -> dict:
    refs = _references(table)
    relations = {}
    for column, target in refs.items():
        values = {r[column] for r in rows if r[column] is not None}
        if target in ids:
            inside = set(ids[target])
            relations[column] = sorted({"this month" if v in inside else "earlier" for v in values})
        else:
            relations[column] = ["registry"] if values else []
    return {
        "rows": len(rows),
        "not_null": sorted(
            c.name for c in table.columns if all(r[c.name] is not None for r in rows)
        ),
        "kinds": {k: sorted({str(r[k]) for r in rows}) for k in KINDS if k in table.c and rows},
        "relations": relations,
    }
