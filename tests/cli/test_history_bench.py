"""The history bench's months (shuangsuiji/cli/history.py, scripts/bench_history.py): a month
copied by the database has the shape of the month made through the services, and the copied
audit trail verifies."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import text

from shuangsuiji.cli import history
from shuangsuiji.cli.db import alembic_config
from shuangsuiji.db import Database, make_engine
from shuangsuiji.services.platform import audit

SCALE = dataclasses.replace(history.SMALL, entities=400, inspectors=40, once_per_department=1)
FIRST = dt.date(2024, 1, 1)
MONTHS = 13  # a year and the next January: the recurring plans are made again then


@pytest.fixture
def built(scratch_url):
    from alembic import command

    command.upgrade(alembic_config(scratch_url), "head")
    db = Database(make_engine(scratch_url))
    world = history.build_registry(db, SCALE, cities=2)
    with db.engine.connect() as connection:
        marks = history.baseline(connection)
    log = history.service_month(db, world, FIRST, SCALE)
    with db.engine.begin() as connection:
        tmpl = history.template(
            connection,
            marks,
            FIRST,
            months=MONTHS,
            shifts=history.city_shifts(world, SCALE),
            cities=2,
        )
        writer = history.AuditWriter(connection, tmpl)
    for k in range(MONTHS):
        with db.engine.begin() as connection:
            for city in (0, 1):
                history.copy_month(connection, tmpl, k, city=city)
                writer.write(connection, k, city=city)
            history.reset_sequences(connection)
    yield db, world, log, tmpl
    db.engine.dispose()


def test_a_copied_month_has_the_shape_of_the_month_made_by_the_services(built):
    db, world, log, _ = built
    assert log.records > 0 and log.listed > 0
    with db.engine.connect() as connection:
        made = history.month_shape(connection, FIRST)
        copied = history.month_shape(connection, history.month_start(2025, 1, 0))
        march = history.month_shape(connection, history.month_start(2024, 3, 0))
    # The first month holds the template (the first city's, made by the services) and the
    # second city's copy of it; the next January only copies.
    for table, shape in copied.items():
        assert shape == made[table], table
    # Every table the services wrote is written by the copies, with every status and kind.
    assert {t for t, s in made.items() if s["rows"]} == set(made)
    assert made["inspection_records"]["kinds"]["status"] == ["published"]
    assert "listed" in made["abnormal_listings"]["kinds"]["status"]
    assert made["plans"]["kinds"]["status"] == ["active", "closed"]
    # The webhooks were delivered, the SMS no gateway collected expired (housekeeping).
    assert made["outbox_messages"]["kinds"]["status"] == ["failed", "sent"]
    assert made["draws"]["relations"]["plan_id"] == ["this month"]
    # A month inside the year draws the year's recurring plans (made in January) and has no
    # joint plan; its one-off plans are its own.
    assert march["plan_batches"]["relations"]["plan_id"] == ["earlier"]
    assert march["plans"]["kinds"]["recurrence"] == ["once"]
    assert march["plan_participations"]["rows"] == 0
    assert march["inspection_records"]["relations"]["draw_id"] == ["this month"]


def test_the_copied_trail_verifies_and_the_copies_keep_to_their_city(built):
    db, world, _, tmpl = built
    with db.transaction(write=False) as session:
        report = audit.verify(session, since=None)
    assert report.ok, report.problem
    assert report.checked == report.head_seq > tmpl.audit_hi * MONTHS
    with db.engine.connect() as connection:
        # Every record names an entity of its own department and a draw of its own plan, in
        # both cities; the second city's records are its own registry's.
        wrong = connection.scalar(
            text(
                "SELECT count(*) FROM inspection_records r JOIN entities e ON e.id = r.entity_id"
                " JOIN draws d ON d.id = r.draw_id"
                " WHERE e.department_id != r.department_id OR d.plan_id != r.plan_id"
                " OR e.uscc != r.uscc"
            )
        )
        per_city = connection.execute(
            text(
                "SELECT CASE WHEN d.level = 'city' THEN d.id ELSE d.parent_id END AS city,"
                " count(*) FROM inspection_records r"
                " JOIN departments d ON d.id = r.department_id GROUP BY 1 ORDER BY 1"
            )
        ).all()
        codes = connection.scalar(text("SELECT count(DISTINCT code) = count(*) FROM plans"))
        # A copied month checks other firms than the template, of the same class.
        strata = connection.scalar(
            text(
                "SELECT count(*) FROM draw_entities d JOIN entities e ON e.id = d.entity_id"
                " WHERE coalesce(e.risk_class, 'X') != d.stratum OR e.uscc != d.uscc"
            )
        )
        firms = connection.execute(
            text(
                "SELECT count(DISTINCT entity_id), count(*) FROM inspection_records"
                " WHERE department_id = :city"
            ),
            {"city": world.city_ids[0]},
        ).one()
    assert wrong == 0 and strata == 0
    assert codes
    assert firms[0] > firms[1] // 4  # not the template's firms again and again
    assert [c for c, _ in per_city] == world.city_ids
    assert per_city[0][1] == per_city[1][1] > 0
