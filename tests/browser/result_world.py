"""A drawn plan ready for result entry in the browser tests, and their small helpers."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shuangsuiji.db import Department, Draw, User
from shuangsuiji.db.states import Role
from shuangsuiji.services.plans import draws
from shuangsuiji.services.results import results

from .. import draw_world, factories

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}
XSS = '"><script>alert("xss")</script><img src=x onerror=alert(1)><svg onload=alert(2)>'


def png() -> bytes:
    """A real 1×1 PNG (the upload is sniffed by content)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xb3\x26\x1e")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def drawn(live_app) -> dict:
    """A drawn plan of 廊坊市场监管局 with two matters; lf_zhangwei is on the first drawn
    entity's team, lf_lina on the second's, whose registry name is a script payload."""
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session, factories.bound(session):
        department = session.scalar(select(Department).where(Department.code == "LF-SAMR"))
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        registry = draw_world.populate(
            session, department, entities=24, inspectors=6, cert_prefix="88"
        )
        second = factories.MatterFactory(department=department, code="LF-M2", name="食品安全检查")
        draw = factories.DrawFactory(
            actor=admin,
            commitment__plan__code="LF-RESULTS",
            commitment__plan__matters=[registry["matter"], second],
        )
        first, other = draws.teams(session, draw, limit=2)
        users = {
            u.username: u
            for u in session.scalars(
                select(User).where(User.username.in_(("lf_zhangwei", "lf_lina")))
            )
        }
        first.members[0].inspector.user_id = users["lf_zhangwei"].id
        free = next(m for m in other.members if m.inspector.user_id is None)
        free.inspector.user_id = users["lf_lina"].id
        other.entity.name = "脚本测试企业" + XSS
        return {
            "draw_id": draw.id,
            "first": (first.entity.name, first.drawn.uscc),
            "other_uscc": other.drawn.uscc,
            "matters": [registry["matter"].id, second.id],
        }


def entered(live_app, drawn, position, *, photo=None, approve=False) -> tuple[str, str]:
    """The drawn entity at `position` entered through the services by its team's first
    inspector (given an account if it has none), and submitted: the first matter
    通过登记的住所（经营场所）无法联系 (code 6, reported to the supervising unit), the second
    未发现问题, internal notes; with `photo` (PNG bytes) attached as 现场照片.png; with
    approve=True approved and published by lf_admin. Returns the entity's name and USCC."""
    first, _ = drawn["matters"]
    unreachable = factories.finding(codes=["6"], measures=["feedback"])
    database = live_app.extensions["shuangsuiji.db"]
    with database.transaction() as session, factories.bound(session):
        admin = session.scalar(select(User).where(User.username == "lf_admin"))
        draw = session.get(Draw, drawn["draw_id"])
        [row] = draws.teams(session, draw, offset=position, limit=1)
        inspector = row.members[0].inspector
        if inspector.user_id is None:
            clerk = factories.UserFactory(role=Role.INSPECTOR, department=admin.department)
            inspector.user_id = clerk.id
            session.flush()
        else:  # the team's inspector already has an account (lf_zhangwei, lf_lina)
            clerk = session.get(User, inspector.user_id)
        factories.InspectionRecordFactory(
            actor=clerk,
            draw=draw,
            position=position,
            matters={first: unreachable},
            notes="经营场所已搬离，现场无人",
        )
        where = {"draw_id": draw.id, "position": position}
        if photo is not None:
            results.add_attachment(
                session,
                actor=clerk,
                **where,
                filename="现场照片.png",
                data=photo,
                max_bytes=len(photo),
            )
        results.submit(session, actor=clerk, **where)
        if approve:
            results.review(session, actor=admin, **where, decision="approve", comment="")
        return row.entity.name, row.drawn.uscc


def today() -> str:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def shot(page, name: str) -> None:
    """A full-page screenshot under tests/browser/artifacts/ (git-ignored) for review."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
