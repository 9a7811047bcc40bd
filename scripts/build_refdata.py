"""Regenerate shuangsuiji/data/regions.csv and industries.csv from their sources.

    python scripts/build_refdata.py           # write both files
    python scripts/build_refdata.py --check   # exit 1 if a file differs from what it would write

regions.csv    GB/T 2260 codes from python-stdnum's county table stdnum/cn/loc.dat (the
               installed stdnum; its version is printed and belongs in data/README.md).
industries.csv GB/T 4754-2017 from two hand-made extracts of public repositories kept in
               shuangsuiji/data/sources/; every disagreement between them is listed below
               with the choice made, and the build stops on any disagreement not listed.

How each file is built, and why, is written down in shuangsuiji/data/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "shuangsuiji" / "data"
SOURCES = DATA / "sources"
HEADER = ("code", "name", "level", "parent")

# --- GB/T 2260 regions -----------------------------------------------------------------------

# The 34 provincial-level divisions, a check on the names loc.dat gives its xx0000 rows.
PROVINCES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

_PROVINCE_LINE = re.compile(r'^(\d{2}) province="[^"]*"$')
_COUNTY_LINE = re.compile(r'^  (\d{4}) county="([^"]*)"$')
# One period of a name: "[1983-1994]东矿区", "[1995-]古冶区", "[-1982]县" or a bare name.
_PERIOD = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?(.+)$")


def loc_dat() -> Path:
    import stdnum  # the build needs python-stdnum; the application does not

    return Path(stdnum.__file__).parent / "cn" / "loc.dat"


def current_regions(text: str) -> dict[str, str]:
    """Code -> current name: the last period of each entry, unless that period has ended."""
    names: dict[str, str] = {}
    province = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE_LINE.match(line):
            province = match.group(1)
            continue
        match = _COUNTY_LINE.match(line)
        if match is None or province is None:
            raise SystemExit(f"loc.dat: unexpected line {line!r}")
        last = match.group(2).split(",")[-1]
        period = _PERIOD.match(last)
        if period is None:
            raise SystemExit(f"loc.dat: unexpected name {last!r}")
        if period.group(2) is None:  # no end year: still in force
            names[province + match.group(1)] = period.group(3)
    return names


# Statistical groupings that name no place: a city's districts (市辖区, xxxx01, and 110100 and
# the like for the municipalities) and Chongqing's counties (县, 500200). Left out, so that a
# district hangs directly under its city and a municipality's districts under the municipality.
PLACEHOLDERS = {"市辖区", "县"}


# Codes loc.dat still shows as current although they were replaced (found by looking for a name
# current under two codes of one province).
STALE = {
    "422900": "林区: replaced by 429021 神农架林区",
    "422921": "神农架林区: replaced by 429021",
    "429001": "county-level 随州市: replaced by prefecture-level 421300 in 2000",
}
# loc.dat writes these four names in traditional characters.
NAME_FIXES = {
    "232761": "加格达奇区",
    "232762": "松岭区",
    "232763": "新林区",
    "232764": "呼中区",
}


def region_rows(names: dict[str, str]) -> list[tuple[str, str, str, str]]:
    names = {
        code: NAME_FIXES.get(code, name)
        for code, name in names.items()
        if name not in PLACEHOLDERS and code not in STALE
    }
    for prefix, name in PROVINCES.items():
        if names.get(prefix + "0000") != name:
            raise SystemExit(f"loc.dat names {prefix}0000 {names.get(prefix + '0000')!r}")
    rows = []
    for code in sorted(names):
        if code.endswith("0000"):
            level, parent = "province", ""
        elif code.endswith("00"):
            level, parent = "city", code[:2] + "0000"
        else:
            level = "county"
            parent = code[:4] + "00" if code[:4] + "00" in names else code[:2] + "0000"
        if parent and parent not in names:
            raise SystemExit(f"loc.dat has no parent {parent} for {code}")
        rows.append((code, names[code], level, parent))
    return rows


# --- GB/T 4754 industries --------------------------------------------------------------------

CZSX = SOURCES / "gbt4754_czsx525_vue-init.tsv"
ZMSHE = SOURCES / "gbt4754_zmshe_capital.tsv"

# Where the two extracts name a code differently: (czsx name, zmshe name, name kept). The kept
# name is the one other public code lists also use (see data/README.md); czsx carries 2011-era
# wording in several of these.
RESOLVED = {
    "203": ("木制品制造", "木质制品制造", "木质制品制造"),
    "204": ("竹、藤、棕、草制品制造", "竹、藤、棕、草等制品制造", "竹、藤、棕、草等制品制造"),
    "339": ("锻造及其他金属制品制造", "铸造及其他金属制品制造", "铸造及其他金属制品制造"),
    "349": ("其他通用设备制造", "其他通用设备制造业", "其他通用设备制造业"),
    "395": ("视听设备制造", "非专业视听设备制造", "非专业视听设备制造"),
    "746": ("环境与生态监测", "环境与生态监测检测服务", "环境与生态监测检测服务"),
    "75": ("科技推广和应用服务", "科技推广和应用服务业", "科技推广和应用服务业"),
    "87": (
        "广播、电视、电影和影视录音制作业",
        "广播、电视、电影和录音制作业",
        "广播、电视、电影和录音制作业",
    ),
    "905": (
        "文化娱乐体育活动和经纪代理服务",
        "文化体育娱乐活动与经纪代理服务",
        "文化体育娱乐活动与经纪代理服务",
    ),
    "7289": ("其他会议、展览及相关服务", "其他会议、会展及相关服务", "其他会议、会展及相关服务"),
}
# Classes only one extract has. czsx lacks the first four; zmshe's 3741 row is defective.
ONLY_ZMSHE = {"2522", "3969", "5267", "7123"}
ONLY_CZSX = {"3741"}
EXPECTED_COUNTS = {"section": 20, "division": 97, "group": 473, "class": 1381}
LEVELS = {1: "section", 2: "division", 3: "group", 4: "class"}


def clean_name(name: str) -> str:
    # The standard writes full-width parentheses; the extracts mix both forms.
    return name.strip().replace("(", "（").replace(")", "）")


def read_extract(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name = line.split("\t")
            pairs.append((code, clean_name(name)))
    return pairs


def sections_by_order(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Division -> section, from file order: a section row precedes its divisions."""
    result, section = {}, None
    for code, _ in pairs:
        if code.isalpha():
            section = code
        elif section is not None:
            result[code[:2]] = section
    return result


def industry_rows() -> list[tuple[str, str, str, str]]:
    czsx_pairs = read_extract(CZSX)
    zmshe_pairs = read_extract(ZMSHE)
    # czsx prefixes every code with its section letter: A, A01, A011, A0111.
    czsx = {code if len(code) == 1 else code[1:]: name for code, name in czsx_pairs}
    zmshe = dict(zmshe_pairs)
    if len(czsx) != len(czsx_pairs) or len(zmshe) != len(zmshe_pairs):
        raise SystemExit("an extract lists a code twice")

    section_of = {code[1:3]: code[0] for code, _ in czsx_pairs if len(code) > 1}
    if section_of != sections_by_order(zmshe_pairs):
        raise SystemExit("the extracts put divisions in different sections")

    names: dict[str, str] = {}
    for code in sorted(czsx.keys() | zmshe.keys()):
        a, b = czsx.get(code), zmshe.get(code)
        if a is not None and b is not None:
            if a == b:
                names[code] = a
            elif RESOLVED.get(code, (None, None))[:2] == (a, b):
                names[code] = RESOLVED[code][2]
            else:
                raise SystemExit(f"{code}: czsx {a!r} / zmshe {b!r}: not resolved")
        elif len(code) == 4 and code not in (ONLY_ZMSHE | ONLY_CZSX):
            raise SystemExit(f"class {code} is in one extract only")
        else:
            names[code] = a if a is not None else b
    # Groups with a single class exist only in czsx; the class (in both) must share the name.
    for code in czsx.keys() - zmshe.keys():
        if len(code) == 3 and names.get(code + "0") != names[code]:
            raise SystemExit(f"group {code} is in czsx only and is not a single-class group")

    rows = []
    for code, name in names.items():
        level = LEVELS[len(code)]
        if level == "section":
            parent = ""
        elif level == "division":
            parent = section_of[code]
        else:
            parent = code[:-1]
        if parent and parent not in names:
            raise SystemExit(f"industry {code} has no parent {parent}")
        rows.append((code, name, level, parent))
    counts = {level: sum(row[2] == level for row in rows) for level in EXPECTED_COUNTS}
    if counts != EXPECTED_COUNTS:
        raise SystemExit(f"industry counts {counts} != {EXPECTED_COUNTS}")
    # The standard's order: each section, then its divisions, groups and classes depth-first.
    return sorted(
        rows,
        key=lambda row: (
            row[0] if row[2] == "section" else section_of[row[0][:2]],
            row[2] != "section",
            row[0],
        ),
    )


# --- output ----------------------------------------------------------------------------------


def render(rows: list[tuple[str, str, str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument(
        "--only", choices=("regions", "industries"), help="build one file (default: both)"
    )
    args = parser.parse_args(argv)

    outputs = {}
    if args.only in (None, "regions"):
        source = loc_dat()
        import stdnum

        print(f"regions: {source} (python-stdnum {stdnum.__version__})")
        outputs["regions.csv"] = render(region_rows(current_regions(source.read_text("utf-8"))))
    if args.only in (None, "industries"):
        outputs["industries.csv"] = render(industry_rows())

    stale = []
    for filename, content in outputs.items():
        target = DATA / filename
        rows = content.count("\n") - 1
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != content:
                stale.append(filename)
            print(f"{filename}: {rows} rows, {'differs' if filename in stale else 'up to date'}")
        else:
            target.write_text(content, encoding="utf-8")
            print(f"{filename}: {rows} rows written")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
