"""`shuangsuiji demo …`: demo data for a first look (scripts/serve runs `demo load`)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..edge import today
from . import demo_checklists, synthetic
from . import demo_data as demo
from .registry import ImportOptions, import_file

# Registry sizes loaded by `demo load`: department, its admin, region, entities, inspectors,
# and a prefix that keeps 执法证号 unique across departments.
DEMO_REGISTRIES = [
    ("LF-SAMR", "lf_admin", "1310", 3000, 40, "1301"),
    ("LF-XH-SAMR", "xh_admin", "131024", 800, 12, "1302"),
    ("LF-DC-SAMR", "dc_admin", "131028", 500, 8, "1303"),
]
# The tax and ecology bureaus of the joint plan: their matters and inspectors (no registry of
# their own: a joint plan draws from the lead department's). Department, its admin, region,
# inspectors (fewer than the plan's teams, so each is on one), 执法证号 prefix.
DEMO_PARTNERS = [
    ("LF-TAX", "tax_admin", "1310", 4, "1304"),
    ("LF-ENV", "env_admin", "1310", 4, "1305"),
]


@click.group("demo")
def group():
    """演示数据。"""


@group.command("load")
@click.option("--small", is_flag=True, help="Fewer registry rows (for tests).")
@with_appcontext
def load(small):
    """Load the demo set-up if the database has no users yet; print the admin password."""
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        if not demo.is_empty(session):
            click.echo(
                "数据库已有数据，未加载演示数据。管理员密码遗失时可用："
                "shuangsuiji users reset-password admin"
            )
            return
        password = demo.load(session)
    rng = random.Random(20261122)
    with tempfile.TemporaryDirectory() as tmp:
        for code, admin, prefix, n_entities, n_inspectors, certs in DEMO_REGISTRIES:
            if small:
                n_entities, n_inspectors = n_entities // 50, n_inspectors // 2
            files = _generate(
                Path(tmp) / code, rng, prefix, n_entities, n_inspectors, cert_prefix=certs
            )
            _import(files, code, admin)
        for code, admin, prefix, n_inspectors, certs in DEMO_PARTNERS:
            folder = Path(tmp) / code
            folder.mkdir(parents=True, exist_ok=True)
            rows = list(
                synthetic.inspectors(rng, n_inspectors, region_prefix=prefix, cert_prefix=certs)
            )
            _name_after_accounts(rows, code)
            files = []
            for kind, data in (("matters", demo.PARTNER_MATTERS[code]), ("inspectors", rows)):
                synthetic.write(kind, data, folder / f"{kind}.csv")
                files.append((kind, folder / f"{kind}.csv"))
            _import(files, code, admin)
    with current_app.extensions["shuangsuiji.db"].transaction() as session:
        demo.link_inspectors(session)
        demo_checklists.load(session)
        demo.load_plans(session, today=today())
        demo.load_joint_plan(session, today=today())
        demo.load_results(session, today=today())
    click.echo(
        "已加载演示数据（廊坊市场监管局、两个县局、税务局、生态环境局及其名录，"
        "一项已抽取的抽查任务，一项已抽取的市场监管、税务、生态环境联合抽查任务，各抽查事项的检查表）。"
    )
    click.echo(f"管理员账号 admin，一次性密码：{password}（首次登录须修改）")
    click.echo(f"其他演示账号（如 lf_admin、xh_admin、auditor）的密码：{demo.DEMO_STAFF_PASSWORD}")


def _import(files, code: str, admin: str) -> None:
    for kind, path in files:
        job = import_file(
            path,
            kind=kind,
            username=admin,
            department_code=code,
            options=ImportOptions(quiet=True),
        )
        click.echo(f"  {code} {kind}: {job.inserted} 条", err=True)


def _name_after_accounts(inspector_rows: list[dict], department_code: str) -> None:
    """The department's demo inspector accounts have a 执法人员 record of the same name."""
    for row, name in zip(inspector_rows, demo.inspector_names(department_code), strict=False):
        row["name"], row["status"] = name, "在岗"  # the cell text of an active inspector
        row["is_expert"] = "否"  # not-a-state: the cell text (experts are not drawn)


def _generate(folder: Path, rng, prefix, n_entities, n_inspectors, *, cert_prefix="13"):
    folder.mkdir(parents=True, exist_ok=True)
    entity_rows = list(synthetic.entities(rng, n_entities, region_prefix=prefix))
    inspector_rows = list(
        synthetic.inspectors(rng, n_inspectors, region_prefix=prefix, cert_prefix=cert_prefix)
    )
    _name_after_accounts(inspector_rows, folder.name)
    conflict_rows = list(
        synthetic.conflicts(rng, inspector_rows, entity_rows, max(1, n_inspectors // 2))
    )
    files = []
    for kind, rows in (
        ("matters", synthetic.matters()),
        ("entities", entity_rows),
        ("inspectors", inspector_rows),
        ("conflicts", conflict_rows),
    ):
        path = folder / f"{kind}.csv"
        synthetic.write(kind, rows, path)
        files.append((kind, path))
    return files


@group.command("generate")
@click.argument("kind", type=click.Choice(["entities", "inspectors", "conflicts", "matters"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", default=1000, show_default=True, help="How many rows.")
@click.option(
    "--region",
    default="1310",
    show_default=True,
    help="GB/T 2260 prefix of the city (1310 = 廊坊市).",
)
@click.option(
    "--encoding",
    default="utf-8-sig",
    show_default=True,
    help="CSV encoding, e.g. gbk for a registration-system export.",
)
@click.option("--seed", default=1, show_default=True)
def generate(kind, path, rows, region, encoding, seed):
    """Write KIND rows to PATH (.csv or .xlsx) with Chinese headers, as a clerk's file."""
    rng = random.Random(seed)
    if kind == "entities":
        data = synthetic.entities(rng, rows, region_prefix=region)
    elif kind == "inspectors":
        data = synthetic.inspectors(rng, rows, region_prefix=region)
    elif kind == "matters":
        data = synthetic.matters()
    else:
        entity_rows = list(synthetic.entities(rng, max(rows, 10), region_prefix=region))
        inspector_rows = list(synthetic.inspectors(rng, max(rows // 10, 2), region_prefix=region))
        data = synthetic.conflicts(rng, inspector_rows, entity_rows, rows)
    count = synthetic.write(kind, data, path, encoding=encoding)
    click.echo(f"已写入 {count} 行到 {path}")
