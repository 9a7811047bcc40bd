"""检查结果代码: the hierarchical, multi-select result list, check methods and follow-up measures.

The result list is the one the Zhejiang provincial system uses: each code has a label and the
code it sits under. `check_codes` normalises a selection (a child implies its parent) and names
every rule it breaks in Chinese. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResultCode:
    """检查结果代码: one entry of the result list; `parent` is the code it sits under."""

    code: str
    label: str
    parent: str | None = None


# In display order; the stored form lists the selected codes in this order.
RESULT_CODES: tuple[ResultCode, ...] = (
    ResultCode("1", "未发现问题"),
    ResultCode("A", "发现问题待后续处理"),
    ResultCode("2", "违反市场监管（工商）相关规定", "A"),
    ResultCode("B", "未按规定公示应当公示的信息", "2"),
    ResultCode("C", "公示信息隐瞒真实情况、弄虚作假", "2"),
    ResultCode("6", "通过登记的住所（经营场所）无法联系", "2"),
    ResultCode("D", "违反其他市场监管规定", "2"),
    ResultCode("3", "违反食品药品相关规定", "A"),
    ResultCode("4", "违反质量技术监督相关规定", "A"),
    ResultCode("5", "违反其他部门相关规定", "A"),
    ResultCode("E", "发现问题经责令已改正"),
    ResultCode("F", "未发现开展本次抽查涉及的经营活动"),
    ResultCode("7", "已关闭停业或正在组织清算"),
    ResultCode("8", "不配合检查情节严重"),
    ResultCode("9", "注销"),
    ResultCode("10", "被吊销"),
    ResultCode("11", "被撤销"),
    ResultCode("12", "迁出"),
)
BY_CODE = {c.code: c for c in RESULT_CODES}
ORDER = {c.code: i for i, c in enumerate(RESULT_CODES)}
NO_PROBLEM = "1"
PENDING = "A"
# The entity no longer exists at this registry: at most one of these.
GONE = ("9", "10", "11", "12")

CHECK_METHODS = {
    "field": "实地检查",
    "document": "书面检查",
    "opinion": "行政部门检查结果或专业意见",
    "testing": "检验检测",
    "online": "网络监测",
    "agency": "委托专业机构辅助",
}
MEASURES = {
    "none": "无需后续处置",
    "feedback": "反馈日常监管部门",
    "order": "责令改正",
    "transfer": "移送办案机构",
    "notify": "抄告相关部门",
    "other": "其他",
}


def children(code: str) -> list[str]:
    return [c.code for c in RESULT_CODES if c.parent == code]


def ancestors(code: str) -> list[str]:
    found = []
    parent = BY_CODE[code].parent
    while parent is not None:
        found.append(parent)
        parent = BY_CODE[parent].parent
    return found


def check_codes(selected: list[str]) -> tuple[list[str], list[str]]:
    """(normalised codes in list order, problems in Chinese). A child brings its parents."""
    problems: list[str] = []
    unknown = [c for c in selected if c not in BY_CODE]
    if unknown:
        problems.append(f"未知的检查结果代码：{'、'.join(unknown)}")
    codes = {c for c in selected if c in BY_CODE}
    for code in list(codes):
        codes.update(ancestors(code))
    if not codes:
        if not unknown:
            problems.append("请至少选择一项检查结果")
        return [], problems
    if NO_PROBLEM in codes and len(codes) > 1:
        others = "、".join(BY_CODE[c].label for c in sorted(codes - {NO_PROBLEM}, key=ORDER.get))
        problems.append(f"“未发现问题”不能与其他检查结果同时选择（已选：{others}）")
    gone = [c for c in GONE if c in codes]
    if len(gone) > 1:
        problems.append(f"注销、吊销、撤销、迁出只能选择一项（已选：{'、'.join(gone)}）")
    for parent in (c.code for c in RESULT_CODES if children(c.code)):
        if parent in codes and not codes.intersection(children(parent)):
            options = "、".join(f"{c} {BY_CODE[c].label}" for c in children(parent))
            problems.append(f"选择“{BY_CODE[parent].label}”时须选择其下的具体情形：{options}")
    return sorted(codes, key=ORDER.get), problems


def check_measures(measures: list[str], codes: list[str]) -> list[str]:
    """Problems of a selection of follow-up measures, given the (normalised) result codes."""
    problems = []
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        problems.append(f"未知的后续处置措施：{'、'.join(unknown)}")
    chosen = [m for m in measures if m in MEASURES]
    if not chosen and not unknown:
        problems.append("请至少选择一项后续处置措施")
    if "none" in chosen and len(chosen) > 1:
        problems.append("“无需后续处置”不能与其他处置措施同时选择")
    if PENDING in codes and chosen == ["none"]:
        problems.append("检查结果为“发现问题待后续处理”时，须选择后续处置措施")
    return problems


def labels(codes: list[str]) -> list[str]:
    return [BY_CODE[c].label for c in codes if c in BY_CODE]
