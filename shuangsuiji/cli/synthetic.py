"""Realistic synthetic registry data for demos, tests and benchmarks (seeded, reproducible).

Rows come out as a clerk's export would hold them: Chinese headers, text cells, valid USCCs,
a city's GB/T 2260 county codes, GB/T 4754 industry codes, a credit-risk class mix.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

from .. import refdata, tabular
from ..columns import CONFLICT_FIELDS, ENTITY_FIELDS, INSPECTOR_FIELDS, MATTER_FIELDS
from ..db.states import EntityStatus
from ..domain import uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
BRANDS = list(
    "恒达鑫源华泰宏远金诚瑞丰永安盛世嘉禾润泽天成博雅卓越新兴利民广源通达宝丰正大福星隆昌"
    "兴旺德信志远安泰祥和万通佳美康宁清风明月长城东方"
)
# Each trade word of a company name, with the GB/T 4754 classes that fit it (a 小吃店 is 小吃服务,
# never 信息传输): the synthetic registry reads like a real one.
TRADES = {
    "商贸": ("5181", "5199", "5211"),
    "科技": ("6511", "6513", "6519"),
    "食品": ("1431", "1439", "1499"),
    "建材": ("5165", "3039"),
    "餐饮管理": ("6210", "6220"),
    "物流": ("5431", "5821", "5990"),
    "机械制造": ("3484", "3419"),
    "电子": ("3985", "3824"),
    "服装": ("1819", "1829", "5232"),
    "农业开发": ("0141", "0190"),
    "家具": ("2110",),
    "医药": ("2720", "2740", "5151"),
    "文化传媒": ("7259", "8750"),
    "环保科技": ("7461", "7729"),
    "汽车服务": ("8111",),
}
SHOPS = {
    "便利店": ("5213",),
    "小吃店": ("6291",),
    "五金店": ("5281",),
    "理发店": ("8040",),
    "超市": ("5212",),
    "饭店": ("6210",),
    "服装店": ("5232",),
    "水果店": ("5223",),
    "药店": ("5251",),
}
COOPERATIVE_INDUSTRIES = ("0141", "0151", "0111")
STREETS = ["新华路", "和平路", "建设路", "光明街", "人民路", "解放道", "永兴路", "育才路", "友谊路"]
TYPES = [
    ("有限责任公司", 60),
    ("个体工商户", 30),
    ("股份有限公司", 5),
    ("农民专业合作社", 3),
    ("个人独资企业", 2),
]
STATUSES = [
    (EntityStatus.IN_BUSINESS, 95),
    (EntityStatus.DEREGISTERED, 2),
    (EntityStatus.LICENCE_REVOKED, 2),
    (EntityStatus.MOVED_OUT, 1),
]
CLASSES = [("A", 65), ("B", 25), ("C", 8), ("D", 2)]
TAGS = ["食品生产", "食品经营", "特种设备使用", "药品零售", "网络交易", "广告发布"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文博浩宇欣怡")
QUALIFICATIONS = ["食品安全", "特种设备", "计量", "广告", "价格", "药品", "网络交易", "知识产权"]


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def counties(prefix: str) -> list[refdata.Region]:
    found = [
        r
        for code, r in refdata.regions().items()
        if code.startswith(prefix) and r.level == "county"
    ]
    if not found:
        raise ValueError(f"no county codes under {prefix}")
    return sorted(found, key=lambda r: r.code)


def make_uscc(rng: random.Random, region_code: str, entity_type: str) -> str:
    kind = {"个体工商户": "2", "农民专业合作社": "3"}.get(entity_type, "1")
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return uscc.make("9" + kind + region_code + body)


def _name(rng: random.Random, entity_type: str, place: str, city: str) -> tuple[str, tuple]:
    """A firm name of this type and the industries that fit it."""
    brand = "".join(rng.sample(BRANDS, 2))
    if entity_type == "个体工商户":
        shop = rng.choice(list(SHOPS))
        return f"{place}{brand}{shop}", SHOPS[shop]
    if entity_type == "农民专业合作社":
        return f"{place}{brand}种植专业合作社", COOPERATIVE_INDUSTRIES
    trade = rng.choice(list(TRADES))
    form = "股份有限公司" if entity_type == "股份有限公司" else "有限公司"
    return f"{city}{brand}{trade}{form}", TRADES[trade]


def entities(rng: random.Random, n: int, *, region_prefix: str = "1310") -> Iterator[dict]:
    """n entity rows (field name → cell text), unique USCCs."""
    places = counties(region_prefix)
    seen: set[str] = set()
    names: set[str] = set()
    city = refdata.region_name(region_prefix.ljust(6, "0")) or ""
    for _ in range(n):
        place = rng.choice(places)
        entity_type = _weighted(rng, TYPES)
        code = make_uscc(rng, place.code, entity_type)
        while code in seen:
            code = make_uscc(rng, place.code, entity_type)
        seen.add(code)
        for _attempt in range(5):  # a new name when the brand is taken, as a registrar would ask
            name, industries = _name(rng, entity_type, place.name, city)
            if name not in names:
                break
        names.add(name)
        yield {
            "uscc": code,
            "name": name,
            "entity_type": entity_type,
            "industry_code": rng.choice(industries),
            "region_code": place.code,
            "registration_authority": f"{place.name}市场监督管理局",
            "supervising_unit": f"{place.name}{rng.choice(['城区', '开发区', '镇'])}市场监管所",
            "grid": f"网格{rng.randint(1, 40):02d}",
            "registered_on": f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "status": _weighted(rng, STATUSES),
            "address": f"{place.name}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            "tags": rng.choice(TAGS) if rng.random() < 0.1 else "",
            "abnormal_listed": "是" if rng.random() < 0.03 else "否",
            "risk_class": _weighted(rng, CLASSES),
            "risk_class_month": "2026-10",
        }


def inspectors(
    rng: random.Random, n: int, *, region_prefix: str = "1310", cert_prefix: str = "13"
) -> Iterator[dict]:
    places = counties(region_prefix)
    for i in range(n):
        place = rng.choice(places)
        yield {
            "name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2]))),
            "cert_no": f"{cert_prefix}{place.code[2:4]}{i + 1:06d}",
            "cert_issuer": "河北省人民政府",
            "cert_valid_until": f"{rng.randint(2027, 2031)}-12-31",
            "region_code": place.code,
            "grid": f"网格{rng.randint(1, 40):02d}",
            "qualifications": ",".join(rng.sample(QUALIFICATIONS, rng.randint(1, 3))),
            "specialties": "",
            "status": _weighted(rng, [("在岗", 90), ("休假", 7), ("离岗", 3)]),
            "is_expert": "是" if rng.random() < 0.05 else "否",
            "mobile": f"139{i + 1:08d}",  # not drawn from rng: earlier data stays as it was
            "email": "",
            "id_number": "",
        }


def conflicts(
    rng: random.Random, inspector_rows: list[dict], entity_rows: list[dict], n: int
) -> Iterator[dict]:
    reasons = ["近亲属在该企业任职", "本人曾在该企业任职", "与法定代表人有利害关系"]
    pairs = set()
    for _ in range(min(n, len(inspector_rows) * len(entity_rows))):
        pair = (rng.choice(inspector_rows)["cert_no"], rng.choice(entity_rows)["uscc"])
        if pair in pairs:
            continue
        pairs.add(pair)
        yield {
            "cert_no": pair[0],
            "uscc": pair[1],
            "reason": rng.choice(reasons),
            "declared_on": f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}",
            "valid_until": "",
        }


def matters() -> list[dict]:
    """A typical SAMR matter list (国市监信〔2019〕38号 style)."""
    rows = [
        (
            "SAMR-001",
            "企业公示信息情况检查",
            "年度报告公示信息",
            "《企业信息公示暂行条例》",
            "企业",
            "一般",
            "不低于3%",
            "每年1次",
        ),
        (
            "SAMR-002",
            "食品生产者生产活动检查",
            "生产环境条件",
            "《中华人民共和国食品安全法》",
            "食品生产企业",
            "重点",
            "不低于10%",
            "每年1次",
        ),
        (
            "SAMR-003",
            "特种设备生产单位检查",
            "生产许可条件",
            "《中华人民共和国特种设备安全法》",
            "特种设备生产单位",
            "重点",
            "不低于5%",
            "每年1次",
        ),
        (
            "SAMR-004",
            "广告发布行为检查",
            "广告内容",
            "《中华人民共和国广告法》",
            "广告发布者",
            "一般",
            "不低于3%",
            "每年1次",
        ),
        (
            "SAMR-005",
            "计量器具使用检查",
            "强制检定计量器具",
            "《中华人民共和国计量法》",
            "使用计量器具的经营者",
            "一般",
            "不低于3%",
            "每年1次",
        ),
    ]
    return [
        {
            "code": c,
            "name": n,
            "sub_item": s,
            "legal_basis": b,
            "target_scope": t,
            "category": k,
            "ratio": r,
            "frequency": f,
            "methods": "实地核查,书面检查",
            "content": "",
            "inspector_requirements": "",
            "effective_from": "2026-01-01",
            "effective_to": "",
            "notes": "",
        }
        for c, n, s, b, t, k, r, f in rows
    ]


FIELDS = {
    "entities": ENTITY_FIELDS,
    "inspectors": INSPECTOR_FIELDS,
    "matters": MATTER_FIELDS,
    "conflicts": CONFLICT_FIELDS,
}


def write(
    kind: str,
    rows,
    path: Path,
    *,
    encoding: str = "utf-8-sig",
    columns: tuple[str, ...] | None = None,
) -> int:
    """Write rows with the list's Chinese headers: .xlsx, or .csv in `encoding` (gbk allowed).

    `columns` limits the file to those fields (a registration system's export has its own set).
    """
    fields = [f for f in FIELDS[kind] if columns is None or f.name in columns]
    headers = [f.label for f in fields]
    table = ([row.get(f.name, "") for f in fields] for row in rows)
    if path.suffix.lower() == ".xlsx":
        with path.open("wb") as out:
            return tabular.write_xlsx(out, headers, table)
    count = 0
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        for row in table:
            writer.writerow(row)
            count += 1
    return count
