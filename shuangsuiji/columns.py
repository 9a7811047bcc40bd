"""The columns of each registry list: Chinese headers, accepted aliases and cell parsers.

A parser turns a cell's text into the stored value or raises `CellError` with a Chinese reason.
It may carry a batch fast path, `parse.many(cells)`: the values of a batch of cells (stripped,
as tabular gives them) when every cell takes the common path, else None, and the caller parses
the cells one by one. Imports check millions of cells this way.
The same definitions drive imports (header mapping, validation), exports (headers), the
import templates and their help text (a parser's `hint`: what a cell may hold) and the console
forms, so a list reads and writes the same columns everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum.cn import ric

from . import refdata
from .db import ENTITY_STATUSES, RISK_CLASSES
from .db.states import EntityStatus, InspectorStatus
from .domain import uscc as uscc_rules
from .tabular import Column

# The columns a rejected-rows file puts before the row's own cells (downloads, the import
# command). Imported again, the file's rows are checked anew and these columns are ignored;
# none of them is a header or an alias of any list.
REJECT_NOTE_HEADERS = ("原行号", "有误的列", "拒绝原因")


class CellError(ValueError):
    """A cell that cannot be stored; the message says why (zh-CN)."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    parse: Callable[[str], object]
    aliases: tuple[str, ...] = ()
    required: bool = False
    export: Callable[[object], object] = field(default=lambda v: v)

    @property
    def hint(self) -> str:
        """What a cell of this column may hold, for a clerk filling in a file (zh-CN)."""
        return getattr(self.parse, "hint", "")

    @property
    def other_headers(self) -> tuple[str, ...]:
        """The Chinese spellings among the aliases, for clerks (the English ones serve
        machine-made files and stay out of the help)."""
        return tuple(a for a in self.aliases if not a.isascii())

    @property
    def template_header(self) -> str:
        """The header an import template gives the column: its label, "*" before a required
        one (tabular.normalise_header reads it as the label)."""
        return f"*{self.label}" if self.required else self.label

    def column(self) -> Column:
        return Column(
            field=self.name, label=self.label, aliases=self.aliases, required=self.required
        )


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text(max_len: int) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        value = raw.strip()
        if not value:
            return None
        if len(value) > max_len:
            raise CellError(f"超过 {max_len} 个字符")
        if _CONTROL.search(value):
            raise CellError("含有不可见的控制字符")
        return value

    def many(cells: tuple[str, ...]) -> list[str | None] | None:
        if max(map(len, cells)) > max_len or _CONTROL.search("".join(cells)):
            return None
        return [cell or None for cell in cells] if "" in cells else list(cells)

    parse.many = many
    parse.hint = f"文字，不超过 {max_len} 个字符"
    return parse


def required_text(max_len: int) -> Callable[[str], str]:
    base = text(max_len)

    def parse(raw: str) -> str:
        value = base(raw)
        if value is None:
            raise CellError("不能为空")
        return value

    def many(cells: tuple[str, ...]) -> list[str] | None:
        return None if "" in cells else base.many(cells)

    parse.many = many
    parse.hint = base.hint
    return parse


def uscc(raw: str) -> str:
    try:
        return uscc_rules.validate(raw)
    except uscc_rules.InvalidUSCC as exc:
        raise CellError(str(exc)) from None


uscc.many = lambda cells: list(cells) if uscc_rules.all_canonical(cells) else None
uscc.hint = "18 位统一社会信用代码（GB 32100），校验位须正确"


def region(raw: str) -> str | None:
    if refdata.is_region(raw):  # the usual case: already a clean code
        return raw
    value = _nfkc(raw)
    if not value:
        return None
    if not refdata.is_region(value):
        raise CellError(f"未知的行政区划代码（GB/T 2260）：{value}")
    return value


region.hint = "6 位行政区划代码（GB/T 2260），如 131024"


def industry(raw: str) -> str | None:
    if refdata.is_industry(raw):
        return raw
    value = _nfkc(raw).upper()
    if not value:
        return None
    if not refdata.is_industry(value):
        raise CellError(f"未知的国民经济行业代码（GB/T 4754）：{value}")
    return value


industry.hint = "国民经济行业代码（GB/T 4754），门类字母或 2–4 位数字，如 F、52、5212"

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def date(raw: str) -> dt.date | None:
    match = _ISO_DATE.fullmatch(raw)
    if match:  # the usual case, and what spreadsheets' dates become (tabular)
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise CellError(f"日期不存在：{raw}") from None
    value = _nfkc(raw)
    if not value:
        return None
    value = value.split(" ")[0]  # a datetime cell: the date part
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise CellError(f"日期格式无法识别：{value}（应为 2024-05-01）")


date.hint = "日期，如 2024-05-01（也可写 2024/5/1、20240501、2024年5月1日）"


def month(raw: str) -> str | None:
    value = _nfkc(raw)
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})[-/.年]?(\d{1,2})月?", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CellError(f"月份格式无法识别：{value}（应为 2024-05）")
    return f"{match.group(1)}-{int(match.group(2)):02d}"


month.hint = "月份，如 2024-05"

_TRUE = {"是", "y", "yes", "true", "1", "√", "已列入", "列入"}
_FALSE = {"否", "n", "no", "false", "0", "", "未列入", "×"}


def boolean(raw: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    value = _nfkc(raw).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CellError(f"应为“是”或“否”：{raw}")


boolean.hint = "填“是”或“否”（不填为“否”）"


def choice(options: dict[str, str], label: str, default=None) -> Callable[[str], str | None]:
    """Map accepted spellings (case-insensitive) to a stored value."""
    lookup = {k.lower(): v for k, v in options.items()}

    def parse(raw: str) -> str | None:
        if raw in options:
            return options[raw]
        value = _nfkc(raw)
        if not value:
            return default
        try:
            return lookup[value.lower()]
        except KeyError:
            allowed = "、".join(sorted(set(options.values())))
            raise CellError(f"{label}无效：{value}（可选：{allowed}）") from None

    shown = _spellings(options)
    allowed = "、".join(dict.fromkeys(shown.values()))
    parse.hint = f"可选：{allowed}" + (f"（不填为“{shown[default]}”）" if default else "")
    return parse


def _spellings(options: dict[str, str]) -> dict[str, str]:
    """Stored value → how a clerk writes it: the value itself, unless it is a code in lower
    case (active), then the first Chinese spelling that means it (在岗)."""
    shown = {}
    for value in options.values():
        if value in shown:
            continue
        written = value
        if re.fullmatch(r"[a-z_]+", value):
            written = next((k for k, v in options.items() if v == value and not k.isascii()), value)
        shown[value] = written
    return shown


_TAG_SPLIT = re.compile(r"[,，;；、|/\s]+")


def tags(raw: str) -> str | None:
    parts = [p for p in _TAG_SPLIT.split(_nfkc(raw)) if p]
    if not parts:
        return None
    value = ",".join(dict.fromkeys(parts))
    if len(value) > 300:
        raise CellError("标签总长度超过 300 个字符")
    return value


tags.hint = "可填多个，用逗号、顿号或分号隔开"


def id_number(raw: str) -> str | None:
    value = _nfkc(raw).upper()
    if not value:
        return None
    try:
        return ric.validate(value)
    except Exception:
        raise CellError("身份证号无效（校验位或出生日期错误）") from None


id_number.hint = "18 位公民身份号码（只在本部门管理员处可见，从不导出）"


_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def mobile(raw: str) -> str | None:
    """A mainland mobile number: 11 digits starting with 1, spaces, dashes and +86 dropped."""
    value = re.sub(r"[\s-]", "", _nfkc(raw))
    if not value:
        return None
    match = _MOBILE.fullmatch(value)
    if not match:
        raise CellError(f"手机号码应为以 1 开头的 11 位数字：{value}")
    return match.group(1)


mobile.hint = "11 位手机号码，如 13812345678"


def email(raw: str) -> str | None:
    value = _nfkc(raw).strip()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise CellError(f"电子邮箱格式有误：{value}")
    return value


email.hint = "电子邮箱，如 zhangsan@example.cn"


def cert_no(raw: str) -> str:
    value = _nfkc(raw).upper()
    if not value:
        raise CellError("不能为空")
    if not re.fullmatch(r"[0-9A-Z\-（）()]{4,64}", value):
        raise CellError(f"执法证号格式无效：{value}")
    return value


cert_no.hint = "执法证号：数字、字母、括号和 -，4 至 64 位"


def matter_code(raw: str) -> str:
    value = _nfkc(raw)
    if not value:
        raise CellError("不能为空")
    if len(value) > 64 or not re.fullmatch(r"[0-9A-Za-z_.\-]+", value):
        raise CellError(f"事项编码只能包含字母、数字和 _ . -：{value}")
    return value


matter_code.hint = "字母、数字和 _ . -，不超过 64 个字符"


STATUS_CHOICES = {s: s for s in ENTITY_STATUSES} | {
    "在业": EntityStatus.IN_BUSINESS,
    "开业": EntityStatus.IN_BUSINESS,
    "正常": EntityStatus.IN_BUSINESS,
    "在营": EntityStatus.IN_BUSINESS,
    "已注销": EntityStatus.DEREGISTERED,
    "已吊销": EntityStatus.LICENCE_REVOKED,
    "吊销未注销": EntityStatus.LICENCE_REVOKED,
    "已撤销": EntityStatus.REGISTRATION_REVOKED,
    "已迁出": EntityStatus.MOVED_OUT,
}
RISK_CHOICES = {c: c for c in RISK_CLASSES} | {
    "A类": "A",
    "B类": "B",
    "C类": "C",
    "D类": "D",
    "低风险": "A",
    "一般风险": "B",
    "较高风险": "C",
    "高风险": "D",
}
INSPECTOR_STATUS_CHOICES = {s: s for s in InspectorStatus} | {
    "在岗": InspectorStatus.ACTIVE,
    "正常": InspectorStatus.ACTIVE,
    "休假": InspectorStatus.LEAVE,
    "请假": InspectorStatus.LEAVE,
    "病假": InspectorStatus.LEAVE,
    "离岗": InspectorStatus.LEFT,
    "调离": InspectorStatus.LEFT,
    "离职": InspectorStatus.LEFT,
    "退休": InspectorStatus.LEFT,
}
INSPECTOR_STATUS_LABELS = {
    InspectorStatus.ACTIVE: "在岗",
    InspectorStatus.LEAVE: "休假/请假",
    InspectorStatus.LEFT: "离岗",
}
CATEGORY_CHOICES = {"一般": "一般", "重点": "重点", "general": "一般", "key": "重点"}

USCC_FIELD = Field(
    "uscc",
    "统一社会信用代码",
    uscc,
    ("社会信用代码", "信用代码", "USCC", "credit_code"),
    required=True,
)

ENTITY_FIELDS = (
    USCC_FIELD,
    Field(
        "name",
        "企业名称",
        required_text(200),
        ("名称", "主体名称", "市场主体名称", "单位名称", "name", "entity_name"),
        required=True,
    ),
    Field("entity_type", "主体类型", text(50), ("企业类型", "市场主体类型", "类型", "type")),
    Field("industry_code", "行业代码", industry, ("国民经济行业代码", "行业", "industry")),
    Field("region_code", "行政区划代码", region, ("区划代码", "所属区域", "region")),
    Field("registration_authority", "登记机关", text(100), ("registration_authority",)),
    Field("supervising_unit", "管辖单位", text(100), ("监管单位", "所属监管所", "supervisor")),
    Field("grid", "片区", text(100), ("网格", "监管网格", "grid")),
    Field("registered_on", "成立日期", date, ("登记日期", "注册日期", "establish_date")),
    Field(
        "status",
        "登记状态",
        choice(STATUS_CHOICES, "登记状态", default=EntityStatus.IN_BUSINESS),
        ("经营状态", "状态", "status"),
    ),
    Field("address", "住所", text(300), ("地址", "经营场所", "注册地址", "address")),
    Field("tags", "标签", tags, ("专项库", "标签/专项库", "tags")),
    Field(
        "abnormal_listed", "经营异常名录", boolean, ("是否列入经营异常名录", "异常名录", "abnormal")
    ),
    Field(
        "risk_class",
        "信用风险分类",
        choice(RISK_CHOICES, "信用风险分类"),
        ("风险分类", "风险等级", "信用风险等级", "risk_class"),
    ),
    Field("risk_class_month", "分类月份", month, ("风险分类月份", "risk_class_month")),
)

INSPECTOR_FIELDS = (
    Field("name", "姓名", required_text(64), ("执法人员姓名", "name"), required=True),
    Field(
        "cert_no",
        "执法证号",
        cert_no,
        ("执法证件号", "执法证编号", "证件号", "cert_no"),
        required=True,
    ),
    Field("cert_issuer", "发证机关", text(100), ("执法证发证机关", "cert_issuer")),
    Field(
        "cert_valid_until", "执法证有效期至", date, ("有效期至", "证件有效期", "cert_valid_until")
    ),
    Field("region_code", "行政区划代码", region, ("区划代码", "所属区域", "region")),
    Field("grid", "片区", text(100), ("网格", "grid")),
    Field("qualifications", "执法资质", tags, ("资质", "资格", "qualifications")),
    Field("specialties", "业务专长", tags, ("专长", "specialties")),
    Field(
        "status",
        "状态",
        choice(INSPECTOR_STATUS_CHOICES, "状态", default=InspectorStatus.ACTIVE),
        ("在岗状态", "status"),
    ),
    Field("is_expert", "是否专家", boolean, ("专家", "is_expert")),
    Field("mobile", "手机号码", mobile, ("手机", "手机号", "联系电话", "mobile")),
    Field("email", "电子邮箱", email, ("邮箱", "电子邮件", "email")),
    Field("id_number", "身份证号", id_number, ("身份证号码", "公民身份号码", "id_number")),
)

MATTER_FIELDS = (
    Field("code", "事项编码", matter_code, ("编码", "编号", "事项编号", "code"), required=True),
    Field(
        "name", "抽查事项", required_text(200), ("事项名称", "抽查事项名称", "name"), required=True
    ),
    Field("sub_item", "检查子项", text(200), ("子项", "抽查子项", "sub_item")),
    Field("legal_basis", "抽查依据", text(4000), ("法律依据", "legal_basis")),
    Field("target_scope", "抽查对象", text(2000), ("抽查范围", "对象范围", "target_scope")),
    Field("content", "抽查内容", text(4000), ("抽查标准", "检查内容", "content")),
    Field("ratio", "抽查比例", text(100), ("比例", "ratio")),
    Field("frequency", "抽查频次", text(100), ("频次", "frequency")),
    Field("methods", "抽查方式", tags, ("检查方式", "methods")),
    Field("inspector_requirements", "检查人员要求", tags, ("人员要求", "inspector_requirements")),
    Field(
        "category",
        "事项类别",
        choice(CATEGORY_CHOICES, "事项类别", default="一般"),
        ("类别", "一般/重点", "category"),
    ),
    Field("effective_from", "生效日期", date, ("起始日期", "effective_from")),
    Field("effective_to", "失效日期", date, ("截止日期", "effective_to")),
    Field("notes", "备注", text(2000), ("说明", "notes")),
)

CONFLICT_FIELDS = (
    Field("cert_no", "执法证号", cert_no, ("执法证件号", "cert_no"), required=True),
    Field("uscc", "统一社会信用代码", uscc, ("信用代码", "USCC", "credit_code"), required=True),
    Field("reason", "回避事由", required_text(300), ("事由", "原因", "reason"), required=True),
    Field("declared_on", "申报日期", date, ("声明日期", "declared_on"), required=True),
    Field("valid_until", "有效期至", date, ("valid_until",)),
)

# The monthly credit-risk classification (国市监信发〔2022〕6号): updates existing entities only.
RISK_CLASS_FIELDS = (
    USCC_FIELD,
    Field(
        "risk_class",
        "信用风险分类",
        choice(RISK_CHOICES, "信用风险分类"),
        ("风险分类", "风险等级", "信用风险等级", "分类结果", "risk_class"),
        required=True,
    ),
    Field(
        "risk_class_month",
        "分类月份",
        month,
        ("风险分类月份", "月份", "分类时间", "risk_class_month", "month"),
        required=True,
    ),
)
