"""Plans (抽查任务): create and edit drafts, then commit them (SRDP-1 §1–§2).

Committing freezes the inputs: the four SRDP-1 files are built from the registries as they stand
(eligible entities, eligible inspectors, exclusions, plan.json), the capacity pre-check refuses a
plan that cannot be staffed, and the files are stored byte for byte with their digest, which is
public from then on. Draws (draws.py) run on a commitment.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from ... import sizes
from ...db import (
    ENTITY_STATUSES,
    Commitment,
    ConflictDeclaration,
    Department,
    Draw,
    DrawAssignment,
    DrawEntity,
    DrawReplacement,
    Entity,
    Inspector,
    Matter,
    Plan,
    PlanBatch,
    User,
    bulk,
    plan_departments,
)
from ...domain import bundle as srdp_bundle
from ...domain import srdp
from ...errors import Conflict, Invalid, NotFound
from ..platform import audit
from ..scope import reads_all, require_admin_of, visible
from . import participation

STRATA = ("A", "B", "C", "D", "X")  # X: not yet classified (未评级)
STRATUM_LABELS = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类", "X": "未评级"}
UNCLASSIFIED = "X"
UNKNOWN_REGION = "NA"
STATUS_LABELS = {
    "draft": "草稿",
    "committed": "已承诺",
    "drawn": "已抽取",
    "active": "已启用（按批次自动抽取）",
    "closed": "已结束",
}
RECURRENCE_LABELS = {
    "once": "一次性（抽取仪式）",
    "monthly": "每月一批",
    "quarterly": "每季度一批",
    "yearly": "每年一批",
}
SERVER_ONLY = [{"label": "server", "kind": "server"}]
ROUNDING_LABELS = {"ceil": "向上取整（不少于比例）", "half_up": "四舍五入", "floor": "向下取整"}
REGION_RULE_LABELS = {
    "none": "不限",
    "different": "异地交叉（检查人员与对象不同区县）",
    "same": "属地",
}
SELECTION_LABELS = {"uniform": "均匀随机", "least_loaded": "优先分配任务较少者"}
PUBLISH_LABELS = {"immediate": "抽取后立即公示名单", "after_fieldwork": "检查结束后公示名单"}
KIND_LABELS = {
    "digits": "骰子数字",
    "text": "公开数值（彩票开奖号、信标等）",
    "server": "服务器密值",
}

# Ratio presets per credit-risk class (DOMAIN.md); unclassified entities count as class B.
PRESETS = {
    "henan": ("河南 2021（A 1%、B 2%、C 10%、D 30%）", ("0.01", "0.02", "0.1", "0.3")),
    "yancheng": ("盐城（A 2%、B 5%、C 30%、D 80%）", ("0.02", "0.05", "0.3", "0.8")),
    "flat5": ("统一 5%", ("0.05", "0.05", "0.05", "0.05")),
}
DEFAULT_RANDOMNESS = [{"label": "dice", "kind": "digits", "min_len": 20}]
FIELDS = (
    "code",
    "title",
    "matter_ids",
    "scope",
    "strata",
    "rounding",
    "slots",
    "region_rule",
    "selection",
    "workload_cap",
    "cooldown_months",
    "annual_cap",
    "exclude_open",
    "required_qualifications",
    "randomness",
    "publish_mode",
    "fieldwork_start",
    "fieldwork_end",
    "notes",
    "recurrence",
    "plan_year",
)
SCOPE_KEYS = ("entity_types", "industry_prefixes", "region_prefixes", "tags", "statuses")
_LABEL_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_TAG_SPLIT = re.compile(r"[,，、;；\s]+")


def preset_strata(preset: str) -> dict:
    _, ratios = PRESETS[preset]
    strata = {code: {"ratio": ratio} for code, ratio in zip("ABCD", ratios, strict=True)}
    strata[UNCLASSIFIED] = {"ratio": ratios[1]}
    return strata


def split_tags(text: str | None) -> list[str]:
    return [t for t in _TAG_SPLIT.split(text or "") if t]


# -- reading -------------------------------------------------------------------------------


def is_participant(actor: User, plan: Plan) -> bool:
    """Whether the actor belongs to a participating (配合) department of a joint plan."""
    return actor.department_id is not None and any(
        d.id == actor.department_id for d in plan.participants
    )


def sees_all_of(actor: User, plan: Plan) -> bool:
    """Whether the actor sees every department's part of the plan: the lead department's
    users, the system administrator and the auditors (participants see their own part)."""
    return reads_all(actor) or actor.department_id == plan.department_id


def slots_of(plan: Plan, department_id: int | None) -> set[int]:
    """The slot indexes of a department in the plan's teams."""
    code = next(
        (d.code for d in [plan.department, *plan.participants] if d.id == department_id), None
    )
    return {i for i, s in enumerate(json.loads(plan.slots)) if s == code}


def get(session: Session, actor: User, plan_id: int) -> Plan:
    """The plan if the actor may read it: its lead department, its participating departments,
    the system administrator and the auditors; NotFound otherwise."""
    plan = session.get(Plan, plan_id)
    if plan is None or not (sees_all_of(actor, plan) or is_participant(actor, plan)):
        raise NotFound("抽查任务不存在")
    return plan


def readable(actor: User):
    """A WHERE clause on Plan: the plans `get` lets the actor read (lead or participant)."""
    joint = select(plan_departments.c.plan_id).where(
        plan_departments.c.department_id == actor.department_id
    )
    return or_(visible(actor, Plan.department_id), Plan.id.in_(joint))


def list_visible(session: Session, actor: User, *, status: str | None = None) -> list[Plan]:
    query = select(Plan).where(readable(actor)).order_by(Plan.id.desc())
    if status:
        query = query.where(Plan.status == status)
    return list(session.scalars(query))


def config(plan: Plan) -> dict:
    """The plan's settings as plain values (JSON columns decoded)."""
    return {
        "code": plan.code,
        "title": plan.title,
        "matter_ids": [m.id for m in plan.matters],
        "scope": json.loads(plan.scope),
        "strata": json.loads(plan.strata),
        "rounding": plan.rounding,
        "slots": json.loads(plan.slots),
        "region_rule": plan.region_rule,
        "selection": plan.selection,
        "workload_cap": plan.workload_cap,
        "cooldown_months": plan.cooldown_months,
        "annual_cap": plan.annual_cap,
        "exclude_open": plan.exclude_open,
        "required_qualifications": split_tags(plan.required_qualifications),
        "randomness": json.loads(plan.randomness),
        "publish_mode": plan.publish_mode,
        "fieldwork_start": plan.fieldwork_start.isoformat() if plan.fieldwork_start else None,
        "fieldwork_end": plan.fieldwork_end.isoformat() if plan.fieldwork_end else None,
        "notes": plan.notes,
        "recurrence": plan.recurrence,
        "plan_year": plan.plan_year,
    }


def snapshot(plan: Plan) -> dict:
    return (
        {"id": plan.id, "department_id": plan.department_id, "status": plan.status}
        | config(plan)
        | {"participants": [d.code for d in plan.participants]}
    )


def commitments(session: Session, plan: Plan) -> list[Commitment]:
    return list(
        session.scalars(
            select(Commitment).where(Commitment.plan_id == plan.id).order_by(Commitment.seq)
        )
    )


def latest_commitment(session: Session, plan: Plan) -> Commitment | None:
    return session.scalar(
        select(Commitment)
        .where(Commitment.plan_id == plan.id)
        .order_by(Commitment.seq.desc())
        .limit(1)
    )


def draws_of(session: Session, plan: Plan) -> list[Draw]:
    return list(session.scalars(select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.id)))


# -- validation ----------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)


def _int(raw, field: str, errs: _Errors, *, minimum: int, optional: bool = False) -> int | None:
    if raw is None or raw == "":
        if optional:
            return None
        errs.add(field, "不能为空")
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        errs.add(field, "须为整数")
        return None
    if value < minimum:
        errs.add(field, f"不能小于 {minimum}")
        return None
    if value > sizes.INT_MAX:
        errs.add(field, f"不能大于 {sizes.INT_MAX}")
        return None
    return value


def _date(raw, field: str, errs: _Errors) -> dt.date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errs.add(field, "日期格式应为 YYYY-MM-DD")
        return None


def _str_list(raw, field: str, errs: _Errors, *, limit: int) -> list[str]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        items = split_tags(raw)
    elif not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        errs.add(field, "须为文本列表")
        return []
    else:
        items = [x.strip() for x in raw if x.strip()]
    if len(items) > limit:
        errs.add(field, f"最多 {limit} 项")
        return []
    return items


def _ratio(raw, where: str, errs: _Errors) -> str | None:
    text = str(raw).strip().rstrip("%")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():  # NaN and Infinity parse but are no ratio
        errs.add("strata", f"{where}：比例须为数字")
        return None
    if str(raw).strip().endswith("%"):
        value = value / 100
    if not 0 <= value <= 1:
        errs.add("strata", f"{where}：比例须在 0 到 100% 之间")
        return None
    text = format(value.normalize(), "f")
    if len(text) > 12:
        errs.add("strata", f"{where}：比例最多保留 10 位小数")
        return None
    return text


def _strata(raw, errs: _Errors) -> dict:
    if not isinstance(raw, dict) or not raw:
        errs.add("strata", "须为每个信用风险分类设置比例或数量")
        return {}
    strata = {}
    for code in STRATA:
        entry = raw.get(code)
        label = STRATUM_LABELS[code]
        if entry is None:
            errs.add("strata", f"{label}：未设置")
            continue
        if not isinstance(entry, dict):
            errs.add("strata", f"{label}：格式有误")
            continue
        rule: dict = {}
        if entry.get("count") not in (None, ""):
            count = _int(entry["count"], "strata", errs, minimum=0)
            if count is not None:
                rule["count"] = count
        elif entry.get("ratio") not in (None, ""):
            ratio = _ratio(entry["ratio"], label, errs)
            if ratio is not None:
                rule["ratio"] = ratio
        else:
            errs.add("strata", f"{label}：须填写比例或数量")
            continue
        for key in ("k_min", "k_max"):
            if entry.get(key) not in (None, ""):
                value = _int(entry[key], "strata", errs, minimum=0)
                if value is not None:
                    rule[key] = value
        strata[code] = rule
    unknown = sorted(set(raw) - set(STRATA))
    if unknown:
        errs.add("strata", f"未知分类：{'、'.join(unknown)}")
    return strata


def _slots(session: Session, raw, errs: _Errors) -> list[str]:
    slots = _str_list(raw, "slots", errs, limit=sizes.MAX_SLOTS)
    if len(slots) < 2:
        errs.add("slots", "每个检查对象至少需要两名执法检查人员（行政处罚法第四十二条）")
        return slots
    if srdp_bundle.ANY_DEPT in slots and set(slots) != {srdp_bundle.ANY_DEPT}:
        errs.add("slots", "“*”（任意部门）不能与部门代码混用")
        return slots
    codes = set(slots) - {srdp_bundle.ANY_DEPT}
    if codes:
        known = set(session.scalars(select(Department.code).where(Department.code.in_(codes))))
        for code in sorted(codes - known):
            errs.add("slots", f"部门代码 {code} 不存在")
        for code in sorted(codes):
            if not _LABEL_RE.fullmatch(code):
                errs.add("slots", f"部门代码 {code} 含有抽取规范不允许的字符")
    return slots


def _randomness(raw, errs: _Errors) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errs.add("randomness", "至少需要一个随机源")
        return []
    if len(raw) > sizes.MAX_RANDOMNESS:
        errs.add("randomness", f"最多 {sizes.MAX_RANDOMNESS} 个随机源")
        return []
    sources, labels = [], set()
    for i, entry in enumerate(raw, 1):
        where = f"第 {i} 个随机源"
        if not isinstance(entry, dict):
            errs.add("randomness", f"{where}：格式有误")
            continue
        label = str(entry.get("label", "")).strip()
        kind = entry.get("kind")
        if not _LABEL_RE.fullmatch(label):
            errs.add("randomness", f"{where}：名称须为 1–32 位字母、数字或 _.-")
            continue
        if label in labels:
            errs.add("randomness", f"{where}：名称 {label} 重复")
        labels.add(label)
        if kind not in KIND_LABELS:
            errs.add("randomness", f"{where}：类型须为 digits、text 或 server")
            continue
        source: dict = {"label": label, "kind": kind}
        if kind == "digits":
            min_len = _int(
                entry.get("min_len", srdp_bundle.MIN_DIGITS),
                "randomness",
                errs,
                minimum=srdp_bundle.MIN_DIGITS,
            )
            source["min_len"] = min_len or srdp_bundle.MIN_DIGITS
        if kind == "text" and entry.get("source"):
            source["source"] = str(entry["source"]).strip()[:200]
        sources.append(source)
    return sources


def _check_recurrence(values: dict, current: dict, errs: _Errors) -> None:
    """A one-off plan's draw is a ceremony: the server secret is never its only source. A
    recurring plan is drawn unattended by the scheduler: its sources are one server secret
    (a link of the hash chain published at activation per batch) and any published values
    (text) typed in for each batch before it falls due; no dice. It names its year."""
    merged = current | values
    recurrence = merged.get("recurrence") or "once"
    sources = merged.get("randomness") or []
    if recurrence == "once":
        if sources and all(s["kind"] == "server" for s in sources):
            errs.add("randomness", "服务器密值不能作为唯一随机源：请加入骰子数字或公开数值")
        return
    if merged.get("plan_year") is None:
        errs.add("plan_year", "周期任务须填写计划年度")
    if (
        any(s["kind"] == "digits" for s in sources)
        or [s["kind"] for s in sources].count("server") != 1
    ):
        errs.add(
            "randomness",
            "周期任务由调度程序自动抽取，无人现场掷骰：随机源为一个服务器密值"
            "（启用时公布哈希链顶端，每批抽取时揭示一环），可另加到期前录入的公开数值",
        )


def parse_values(
    session: Session, department_id: int, raw: dict, *, partial: bool, current: dict | None = None
) -> dict:
    """Check submitted plan settings; Invalid names every problem (field → messages).
    `current`: the plan's settings an update starts from (for rules across fields)."""
    errs = _Errors()
    values: dict = {}
    present = [name for name in FIELDS if name in raw]
    if not partial:
        for name in ("code", "title", "strata", "slots"):
            if raw.get(name) in (None, "", [], {}):
                errs.add(name, "不能为空")
    for name in present:
        value = raw[name]
        if name == "code":
            code = str(value or "").strip()
            if not srdp_bundle.PLAN_ID_RE.fullmatch(code) or len(code) > 48:
                errs.add("code", "任务编号须为 1–48 位字母、数字或 _.-（将写入抽取数据包）")
            values["code"] = code
        elif name == "title":
            title = str(value or "").strip()
            if not title or len(title) > 200:
                errs.add("title", "任务名称须为 1–200 个字")
            values["title"] = title
        elif name == "scope":
            values["scope"] = _scope(value, errs)
        elif name == "strata":
            values["strata"] = _strata(value, errs)
        elif name == "slots":
            values["slots"] = _slots(session, value, errs)
        elif name in ("rounding", "region_rule", "selection", "publish_mode"):
            allowed = {
                "rounding": ROUNDING_LABELS,
                "region_rule": REGION_RULE_LABELS,
                "selection": SELECTION_LABELS,
                "publish_mode": PUBLISH_LABELS,
            }[name]
            if value not in allowed:
                errs.add(name, f"须为 {'、'.join(allowed)} 之一")
            values[name] = value
        elif name == "workload_cap":
            values[name] = _int(value, name, errs, minimum=1)
        elif name == "cooldown_months":
            values[name] = _int(value, name, errs, minimum=0) or 0
        elif name == "annual_cap":
            values[name] = _int(value, name, errs, minimum=1, optional=True)
        elif name == "exclude_open":
            values[name] = value in (True, "1", "true", "on", "yes")
        elif name == "required_qualifications":
            items = _str_list(value, name, errs, limit=sizes.MAX_QUALIFICATIONS)
            values[name] = "，".join(items) or None
        elif name == "randomness":
            values[name] = _randomness(value, errs)
        elif name in ("fieldwork_start", "fieldwork_end"):
            values[name] = _date(value, name, errs)
        elif name == "notes":
            values[name] = (str(value).strip() or None) if value is not None else None
        elif name == "recurrence":
            if value not in RECURRENCE_LABELS:
                errs.add(name, f"须为 {'、'.join(RECURRENCE_LABELS)} 之一")
            values[name] = value
        elif name == "plan_year":
            year = _int(value, name, errs, minimum=2000, optional=True)
            if year is not None and year > 2099:
                errs.add(name, "计划年度须在 2000 年至 2099 年之间")
            values[name] = year
    if "randomness" in values or "recurrence" in values or "plan_year" in values:
        _check_recurrence(values, current or {}, errs)
    if "matter_ids" in raw or ("slots" in values and current):
        # After the slots: a joint plan takes its participants' matters too, and changed
        # slots may drop a participant, whose matters must then go.
        chosen = raw["matter_ids"] if "matter_ids" in raw else current["matter_ids"]
        slots = values.get("slots", (current or {}).get("slots", []))
        values["matters"] = _matters(session, department_id, chosen, slots, errs)
    start, end = values.get("fieldwork_start"), values.get("fieldwork_end")
    if start and end and end < start:
        errs.add("fieldwork_end", "检查结束日期不能早于开始日期")
    if errs.errors:
        raise Invalid("抽查任务填写有误", errors=errs.errors)
    return values


def _matters(session: Session, department_id: int, raw, slots: list[str], errs: _Errors):
    """The chosen matters: the lead department's, or a participating department's (one named
    by a slot) in a joint plan."""
    listed = raw if isinstance(raw, list) else [raw] if raw else []
    if len(listed) > sizes.MAX_MATTERS:
        errs.add("matter_ids", f"最多选择 {sizes.MAX_MATTERS} 个抽查事项")
        return []
    ids = [int(x) for x in listed if sizes.is_id(x)]
    allowed = [department_id, *(d.id for d in participants_of(session, department_id, slots))]
    found = session.scalars(
        select(Matter).where(Matter.id.in_(ids), Matter.department_id.in_(allowed))
    ).all()
    if len(found) != len(set(ids)) or len(ids) != len(listed):
        errs.add("matter_ids", "抽查事项不存在，或不属于本部门及联合检查的配合部门")
    return sorted(found, key=lambda m: (m.department_id != department_id, m.code))


def participants_of(session: Session, department_id: int, slots: list[str]) -> list[Department]:
    """The departments named by the slots other than the lead: a joint plan's participants."""
    codes = set(slots) - {srdp_bundle.ANY_DEPT}
    if not codes:
        return []
    return list(
        session.scalars(
            select(Department)
            .where(Department.code.in_(codes), Department.id != department_id)
            .order_by(Department.code)
        )
    )


def _scope(raw, errs: _Errors) -> dict:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        errs.add("scope", "格式有误")
        return {}
    scope = {}
    for key in SCOPE_KEYS:
        items = _str_list(raw.get(key), "scope", errs, limit=sizes.MAX_SCOPE_ITEMS)
        if items:
            scope[key] = items
    for status in scope.get("statuses", []):
        if status not in ENTITY_STATUSES:
            errs.add("scope", f"登记状态 {status} 无效")
    for key in ("industry_prefixes", "region_prefixes"):
        for prefix in scope.get(key, []):
            if not re.fullmatch(r"[A-Z]?[0-9]{0,6}", prefix):
                errs.add("scope", f"代码前缀 {prefix} 无效")
    unknown = sorted(set(raw) - set(SCOPE_KEYS))
    if unknown:
        errs.add("scope", f"未知筛选条件：{'、'.join(unknown)}")
    return scope


def _encoded(values: dict) -> dict:
    """Parsed values as the columns hold them (the JSON text columns encoded)."""
    return {
        name: json.dumps(value, ensure_ascii=False, sort_keys=True)
        if name in ("scope", "strata", "slots", "randomness")
        else value
        for name, value in values.items()
    }


def _apply(plan: Plan, values: dict) -> None:
    for name, value in _encoded(values).items():
        setattr(plan, name, value)


def _check_code(session: Session, code: str | None, current: Plan | None) -> None:
    if code and session.scalar(
        select(Plan.id).where(Plan.code == code, Plan.id != (current.id if current else -1))
    ):
        raise Conflict("任务编号已存在", errors={"code": ["任务编号已存在"]})


def create(session: Session, *, actor: User, department_id: int, raw: dict) -> Plan:
    require_admin_of(actor, department_id)
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound("部门不存在")
    raw = {
        "rounding": "ceil",
        "region_rule": "none",
        "selection": "uniform",
        "publish_mode": "after_fieldwork",
        "workload_cap": 20,
        "randomness": DEFAULT_RANDOMNESS,
        "exclude_open": True,
        "recurrence": "once",
    } | raw
    values = parse_values(session, department_id, raw, partial=False)
    _check_code(session, values.get("code"), None)
    plan = Plan(department_id=department_id, status="draft", created_by_id=actor.id)
    _apply(plan, values)
    plan.participants = participants_of(session, department_id, values["slots"])
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plans.create",
        object_type="plan",
        object_id=plan.id,
        after=snapshot(plan),
        department_id=department_id,
    )
    participation.sync(session, plan, actor=actor, changed=False)
    return plan


def update(session: Session, *, actor: User, plan_id: int, raw: dict) -> Plan:
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.status != "draft":
        raise Conflict("任务已承诺，输入已冻结，不能修改")
    values = parse_values(session, plan.department_id, raw, partial=True, current=config(plan))
    _check_code(session, values.get("code"), plan)
    encoded = _encoded(values)
    if "slots" in values:
        encoded["participants"] = participants_of(session, plan.department_id, values["slots"])
    before, after = audit.update_recorded(
        session,
        actor=actor,
        obj=plan,
        values=encoded,
        snapshot=snapshot,
        action="plans.update",
        object_type="plan",
    )
    participation.sync(session, plan, actor=actor, changed=after != before)
    return plan


# -- commitment ----------------------------------------------------------------------------


def inspector_key(inspector_id: int) -> str:
    """The inspector's id in a bundle: pseudonymous, stable, ordered like the database id."""
    return f"I{inspector_id}"


def inspector_pk(key: str) -> int:
    return int(key[1:])


def _months_before(day: dt.date, months: int) -> dt.date:
    month0 = day.year * 12 + day.month - 1 - months
    year, month = divmod(month0, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def live_draws():
    """The draws no redraw has replaced (a subquery of draw ids)."""
    replaced = select(Draw.supersedes_id).where(Draw.supersedes_id.is_not(None))
    return select(Draw.id).where(Draw.id.not_in(replaced))


def _in_scope(plan: Plan, scope: dict) -> list:
    """WHERE conditions on Entity: the plan's registry, 定向 filters, status (存续 by default)."""
    conditions = [
        Entity.department_id == plan.department_id,
        Entity.status.in_(scope.get("statuses") or ["存续"]),
    ]
    if scope.get("entity_types"):
        conditions.append(Entity.entity_type.in_(scope["entity_types"]))
    for key, column in (
        ("industry_prefixes", Entity.industry_code),
        ("region_prefixes", Entity.region_code),
    ):
        if scope.get(key):
            conditions.append(or_(*(column.startswith(p) for p in scope[key])))
    if scope.get("tags"):
        tags = "," + Entity.tags + ","
        conditions.append(or_(*(tags.contains(f",{t},") for t in scope["tags"])))
    return conditions


def _held(plan: Plan, today: dt.date):
    """Conditions on Entity: under an open inspection, and at the plan's annual cap (every
    plan's draws count, by USCC, whichever department drew them); None where the plan does
    not exclude them. Correlated EXISTS, so PostgreSQL plans an anti-join rather than a NOT IN
    it may rescan per row.

    Open: drawn by another plan that is drawn and not yet closed, or by a batch of an active
    recurring plan whose period has not ended."""
    live = live_draws()
    open_ = None
    if plan.exclude_open:
        batch_open = exists(
            select(PlanBatch.id).where(
                PlanBatch.plan_id == Draw.plan_id,
                PlanBatch.key == Draw.batch_key,
                PlanBatch.period_end >= today,
            )
        )
        open_ = exists(
            select(DrawEntity.draw_id)
            .join(Draw, Draw.id == DrawEntity.draw_id)
            .join(Plan, Plan.id == Draw.plan_id)
            .where(
                DrawEntity.uscc == Entity.uscc,
                Draw.id.in_(live),
                or_(Plan.status == "drawn", and_(Plan.status == "active", batch_open)),
                Plan.id != plan.id,
            )
        )
    capped = None
    if plan.annual_cap:
        start = dt.datetime(today.year, 1, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8)  # 北京时间
        capped = (
            select(func.count())
            .select_from(DrawEntity)
            .join(Draw, Draw.id == DrawEntity.draw_id)
            .where(DrawEntity.uscc == Entity.uscc, Draw.id.in_(live), Draw.created_at >= start)
            .scalar_subquery()
            >= plan.annual_cap
        )
    return open_, capped


def drawn_by_plan(plan: Plan):
    """Condition on Entity: already drawn by one of this plan's live draws (a recurring plan
    covers one year: no entity is drawn twice by its batches)."""
    return exists(
        select(DrawEntity.draw_id)
        .join(Draw, Draw.id == DrawEntity.draw_id)
        .where(
            DrawEntity.uscc == Entity.uscc,
            Draw.plan_id == plan.id,
            Draw.id.in_(live_draws()),
        )
    )


def in_scope_counts(session: Session, plan: Plan) -> Counter:
    """In-scope entities per stratum, before any exclusion (a recurring plan's yearly target
    is a ratio of these)."""
    stratum = func.coalesce(Entity.risk_class, UNCLASSIFIED)
    query = (
        select(stratum, func.count())
        .where(*_in_scope(plan, config(plan)["scope"]))
        .group_by(stratum)
    )
    return Counter(dict(session.execute(query).all()))


def _count(session: Session, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Entity).where(*conditions))


def _inspectors(session: Session, plan: Plan, slots: list[str], today: dt.date):
    """Eligible inspectors as bundle records, and how many were left out and why."""
    codes = set(slots) - {srdp_bundle.ANY_DEPT}
    departments = {d.id: d.code for d in session.scalars(select(Department))}
    dept_ids = [i for i, c in departments.items() if c in codes] or [plan.department_id]
    required = set(split_tags(plan.required_qualifications))
    records, left_out = [], Counter()
    rows = session.scalars(
        select(Inspector).where(Inspector.department_id.in_(dept_ids)).order_by(Inspector.id)
    )
    for inspector in rows:
        if inspector.status != "active":
            left_out["status"] += 1
        elif inspector.is_expert:
            left_out["expert"] += 1
        elif inspector.cert_valid_until is not None and inspector.cert_valid_until < today:
            left_out["certificate"] += 1
        elif not required <= set(split_tags(inspector.qualifications)):
            left_out["qualification"] += 1
        else:
            records.append(
                srdp_bundle.Inspector(
                    inspector_key(inspector.id),
                    departments[inspector.department_id],
                    inspector.region_code or UNKNOWN_REGION,
                    plan.workload_cap,
                )
            )
    return records, left_out


def _key_sql(column):
    """inspector_key() in SQL."""
    return literal("I") + cast(column, String)


def _exclusion_lines(
    session: Session, plan: Plan, eligible: list, inspector_ids: list[int], today
) -> list[str]:
    """exclusions.tsv lines: CONFLICT pairs from declarations in force (eligible entities),
    PREVIOUS pairs from the draws within the cool-down (assignments and replacements, not
    already a CONFLICT); both for the eligible inspectors only."""
    if not inspector_ids:
        return []
    connection = session.connection()
    in_force = (ConflictDeclaration.inspector_id.in_(inspector_ids)) & (
        ConflictDeclaration.valid_until.is_(None) | (ConflictDeclaration.valid_until >= today)
    )
    lines = bulk.fetch_lines(
        connection,
        select(Entity.uscc, _key_sql(ConflictDeclaration.inspector_id), literal("CONFLICT"))
        .select_from(ConflictDeclaration)
        .join(Entity, Entity.id == ConflictDeclaration.entity_id)
        .where(*eligible, in_force)
        .distinct(),
    )
    if plan.participants:
        # A participating department's inspectors declare conflicts against the entity rows
        # of their own registry: match those by USCC.
        declared = aliased(Entity)
        lines = sorted(
            set(lines)
            | set(
                bulk.fetch_lines(
                    connection,
                    select(
                        declared.uscc,
                        _key_sql(ConflictDeclaration.inspector_id),
                        literal("CONFLICT"),
                    )
                    .select_from(ConflictDeclaration)
                    .join(declared, declared.id == ConflictDeclaration.entity_id)
                    .where(
                        in_force,
                        declared.department_id != plan.department_id,
                        exists(select(Entity.id).where(Entity.uscc == declared.uscc, *eligible)),
                    ),
                )
            )
        )
    if plan.cooldown_months:
        since = dt.datetime.combine(
            _months_before(today, plan.cooldown_months), dt.time(), tzinfo=dt.UTC
        )
        recent = select(Draw.id).where(Draw.id.in_(live_draws()), Draw.created_at >= since)
        # Not limited to eligible entities (SRDP-1 allows exclusions naming entities that are
        # not drawn): a semi-join against the whole registry would cost more than the lines.
        pairs = [
            select(DrawEntity.uscc.label("uscc"), held.inspector_id.label("inspector_id"))
            .join(
                held, (held.draw_id == DrawEntity.draw_id) & (held.position == DrawEntity.position)
            )
            .where(
                DrawEntity.draw_id.in_(recent),
                held.inspector_id.in_(inspector_ids),
            )
            for held in (DrawAssignment, DrawReplacement)
        ]
        previous = union_all(*pairs).subquery()  # duplicates go in Python: cheaper than a sort
        conflict = (
            select(ConflictDeclaration.id)
            .select_from(ConflictDeclaration)
            .join(Entity, Entity.id == ConflictDeclaration.entity_id)
            .where(
                Entity.uscc == previous.c.uscc,
                ConflictDeclaration.inspector_id == previous.c.inspector_id,
                Entity.department_id == plan.department_id,
                in_force,
            )
        )
        key = _key_sql(previous.c.inspector_id)
        query = select(previous.c.uscc, key, literal("PREVIOUS")).where(~exists(conflict))
        lines += set(bulk.fetch_lines(connection, query))
    return lines


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
    in_scope = _in_scope(plan, cfg["scope"])
    open_, capped = _held(plan, today)
    eligible = list(in_scope)
    excluded = {}
    if plan.recurrence != "once":
        drawn_here = drawn_by_plan(plan)
        excluded["plan_year"] = _count(session, *eligible, drawn_here)
        eligible.append(~drawn_here)
    if open_ is not None:
        excluded["open"] = _count(session, *in_scope, open_)
        eligible.append(~open_)
    if capped is not None:
        excluded["annual_cap"] = _count(session, *eligible, capped)
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
    inspectors, inspectors_left_out = _inspectors(session, plan, cfg["slots"], today)
    exclusions = _exclusion_lines(
        session, plan, eligible, [inspector_pk(i.inspector_id) for i in inspectors], today
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
    summary = {
        "eligible": len(lines),
        "excluded": excluded,
        "strata": {q.code: {"N": q.n, "k": q.k} for q in quotas},
        "drawn": sum(q.k for q in quotas),
        "inspectors": len(inspectors),
        "inspectors_left_out": dict(inspectors_left_out),
        "exclusions": dict(Counter(line.rsplit("\t", 1)[1] for line in exclusions)),
    }
    return Inputs(files, secret, summary)


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


def commit(
    session: Session,
    *,
    actor: User,
    plan_id: int,
    today: dt.date,
    reason: str | None = None,
) -> Commitment:
    """Freeze the plan's inputs (draft → committed). A drawn plan is committed again only for a
    redraw, with a reason; the draw it makes will supersede the current one."""
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.recurrence != "once":
        raise Conflict("周期任务由调度程序按批次自动承诺和抽取，请启用任务")
    if plan.status == "draft":
        if reason:
            raise Invalid("首次承诺无需填写重新抽取理由")
    elif plan.status == "drawn":
        if not (reason and reason.strip()):
            raise Invalid("重新抽取须填写理由", errors={"reason": ["不能为空"]})
    else:
        raise Conflict(f"任务状态为“{STATUS_LABELS[plan.status]}”，不能承诺")
    participation.require_consent(session, plan)
    seq = next_seq(session, plan)
    srdp_id = plan.code if seq == 1 else f"{plan.code}.r{seq}"
    inputs = build_inputs(session, plan, srdp_id=srdp_id, today=today)
    commitment = store_commitment(
        session,
        plan,
        inputs,
        seq=seq,
        srdp_id=srdp_id,
        actor=actor,
        action="plans.commit",
        reason=reason.strip() if reason else None,
    )
    plan.status = "committed"
    session.flush()
    return commitment


def next_seq(session: Session, plan: Plan) -> int:
    previous = latest_commitment(session, plan)
    return previous.seq + 1 if previous else 1


def store_commitment(
    session: Session,
    plan: Plan,
    inputs: Inputs,
    *,
    seq: int,
    srdp_id: str,
    actor: User | None,
    action: str,
    reason: str | None = None,
    batch_key: str | None = None,
) -> Commitment:
    """Store the frozen files byte for byte with their digest and record it: from here on the
    inputs cannot change and the digest is public. `actor` None: the scheduler (a batch)."""
    files = inputs.files
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


def close(session: Session, *, actor: User, plan_id: int) -> Plan:
    """End a drawn plan's work: its entities are no longer under an open inspection. Closing an
    active recurring plan also stops its batches."""
    plan = get(session, actor, plan_id)
    require_admin_of(actor, plan.department_id)
    if plan.status not in ("drawn", "active"):
        raise Conflict("只有已抽取或已启用的任务可以结束")
    audit.update_recorded(
        session,
        actor=actor,
        obj=plan,
        values={"status": "closed"},
        snapshot=snapshot,
        action="plans.close",
        object_type="plan",
    )
    return plan
