"""A plan's settings (抽查任务的设置): the values a plan is made of, their labels and presets,
and `parse_values`, which checks what a form or the API submits and names every problem.

`config` decodes a stored plan's settings back into plain values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import sizes
from ...db import ENTITY_STATUSES, Department, Matter, Plan
from ...domain import bundle as srdp_bundle
from ...errors import Invalid

STRATA = ("A", "B", "C", "D", "X")  # X: not yet classified (未评级)
STRATUM_LABELS = {"A": "A 类", "B": "B 类", "C": "C 类", "D": "D 类", "X": "未评级"}
UNCLASSIFIED = "X"
UNKNOWN_REGION = "NA"
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
# What a page calls a randomness source: its plain name, never its label in the seed text
# ("dice", "server"), which only the verification data shows.
SOURCE_NAMES = {"dice": "现场掷骰", "beacon": "公开数值", "server": "服务器密值"}
SHORT_KIND_LABELS = {"digits": "骰子数字", "text": "公开数值", "server": "服务器密值"}


def source_name(source) -> str:
    """The plain Chinese name of a randomness source (a dict or an object with label, kind)."""
    label = source["label"] if isinstance(source, dict) else source.label
    kind = source.get("kind") if isinstance(source, dict) else getattr(source, "kind", None)
    if label in SOURCE_NAMES:
        return SOURCE_NAMES[label]
    return f"{SHORT_KIND_LABELS.get(kind, '随机源')}（{label}）"


def slot_summary(slots: list[str], names: dict[str, str]) -> list[tuple[str, int]]:
    """A team's slots as (department name, how many), in the order they first appear."""
    counts: dict[str, int] = {}
    for code in slots:
        name = "任意部门" if code == srdp_bundle.ANY_DEPT else names.get(code, code)
        counts[name] = counts.get(name, 0) + 1
    return list(counts.items())


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


def config(plan: Plan) -> dict:
    """The plan's settings as plain values (JSON columns decoded)."""
    return {
        "code": plan.code,
        "title": plan.title,
        "matter_ids": [m.id for m in plan.matters],
        "scope": plan.scope_filters,
        "strata": plan.strata_rules,
        "rounding": plan.rounding,
        "slots": plan.slot_codes,
        "region_rule": plan.region_rule,
        "selection": plan.selection,
        "workload_cap": plan.workload_cap,
        "cooldown_months": plan.cooldown_months,
        "annual_cap": plan.annual_cap,
        "exclude_open": plan.exclude_open,
        "required_qualifications": split_tags(plan.required_qualifications),
        "randomness": plan.randomness_sources,
        "publish_mode": plan.publish_mode,
        "fieldwork_start": plan.fieldwork_start.isoformat() if plan.fieldwork_start else None,
        "fieldwork_end": plan.fieldwork_end.isoformat() if plan.fieldwork_end else None,
        "notes": plan.notes,
        "recurrence": plan.recurrence,
        "plan_year": plan.plan_year,
    }


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


def _code(session: Session, name: str, value, errs: _Errors) -> str:
    code = str(value or "").strip()
    if not srdp_bundle.PLAN_ID_RE.fullmatch(code) or len(code) > 48:
        errs.add(name, "任务编号须为 1–48 位字母、数字或 _.-（将写入抽取数据包）")
    return code


def _title(session: Session, name: str, value, errs: _Errors) -> str:
    title = str(value or "").strip()
    if not title or len(title) > 200:
        errs.add(name, "任务名称须为 1–200 个字")
    return title


def _choice(labels: dict):
    def parse(session: Session, name: str, value, errs: _Errors):
        if value not in labels:
            errs.add(name, f"须为 {'、'.join(labels)} 之一")
        return value

    return parse


def _notes(session: Session, name: str, value, errs: _Errors) -> str | None:
    notes = (str(value).strip() or None) if value is not None else None
    if notes and len(notes) > sizes.NOTE_TEXT:
        errs.add(name, f"不能超过 {sizes.NOTE_TEXT} 个字")
    return notes


def _plan_year(session: Session, name: str, value, errs: _Errors) -> int | None:
    year = _int(value, name, errs, minimum=2000, optional=True)
    if year is not None and year > 2099:
        errs.add(name, "计划年度须在 2000 年至 2099 年之间")
    return year


def _qualifications(session: Session, name: str, value, errs: _Errors) -> str | None:
    return "，".join(_str_list(value, name, errs, limit=sizes.MAX_QUALIFICATIONS)) or None


# One parser per plan field: (session, field name, submitted value, errors) → the value
# stored. matter_ids is checked after the others (it depends on the slots).
_PARSERS = {
    "code": _code,
    "title": _title,
    "scope": lambda session, name, value, errs: _scope(value, errs),
    "strata": lambda session, name, value, errs: _strata(value, errs),
    "slots": lambda session, name, value, errs: _slots(session, value, errs),
    "rounding": _choice(ROUNDING_LABELS),
    "region_rule": _choice(REGION_RULE_LABELS),
    "selection": _choice(SELECTION_LABELS),
    "publish_mode": _choice(PUBLISH_LABELS),
    "recurrence": _choice(RECURRENCE_LABELS),
    "workload_cap": lambda session, name, value, errs: _int(value, name, errs, minimum=1),
    "cooldown_months": lambda session, name, value, errs: _int(value, name, errs, minimum=0) or 0,
    "annual_cap": lambda session, name, value, errs: _int(
        value, name, errs, minimum=1, optional=True
    ),
    "exclude_open": lambda session, name, value, errs: value in (True, "1", "true", "on", "yes"),
    "required_qualifications": _qualifications,
    "randomness": lambda session, name, value, errs: _randomness(value, errs),
    "fieldwork_start": lambda session, name, value, errs: _date(value, name, errs),
    "fieldwork_end": lambda session, name, value, errs: _date(value, name, errs),
    "notes": _notes,
    "plan_year": _plan_year,
}


def parse_values(
    session: Session, department_id: int, raw: dict, *, partial: bool, current: dict | None = None
) -> dict:
    """Check submitted plan settings; Invalid names every problem (field → messages).
    `current`: the plan's settings an update starts from (for rules across fields)."""
    errs = _Errors()
    if not partial:
        for name in ("code", "title", "strata", "slots"):
            if raw.get(name) in (None, "", [], {}):
                errs.add(name, "不能为空")
    values = {
        name: _PARSERS[name](session, name, raw[name], errs)
        for name in FIELDS
        if name in raw and name in _PARSERS
    }
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


def encoded(values: dict) -> dict:
    """Parsed values as the columns hold them (the JSON text columns encoded)."""
    return {
        name: json.dumps(value, ensure_ascii=False, sort_keys=True)
        if name in ("scope", "strata", "slots", "randomness")
        else value
        for name, value in values.items()
    }
