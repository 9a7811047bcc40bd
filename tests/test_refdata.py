"""Reference data: the GB/T 2260 and GB/T 4754 files load, hang together and match examples."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shuangsuiji import refdata

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "shuangsuiji" / "data"
BUILD = ROOT / "scripts" / "build_refdata.py"
REGION_SHAPE = {"province": "0000", "city": "00"}


def test_files_load_with_every_level():
    assert Counter(r.level for r in refdata.regions().values()).keys() == set(refdata.REGION_LEVELS)
    assert Counter(i.level for i in refdata.industries().values()) == {
        "section": 20,
        "division": 97,
        "group": 473,
        "class": 1381,
    }


def test_mappings_are_cached_and_read_only():
    assert refdata.regions() is refdata.regions()
    with pytest.raises(TypeError):
        refdata.regions()["999999"] = None  # type: ignore[index]


@pytest.mark.parametrize("filename", ["regions.csv", "industries.csv"])
def test_codes_are_unique(filename):
    with (DATA / filename).open(encoding="utf-8", newline="") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    assert len(codes) == len(set(codes))


def test_every_region_parent_exists_one_level_up():
    regions = refdata.regions()
    for region in regions.values():
        if region.level == "province":
            assert region.parent is None
        else:
            parent = regions[region.parent]
            assert parent.code[:2] == region.code[:2]
            assert refdata.REGION_LEVELS.index(parent.level) < refdata.REGION_LEVELS.index(
                region.level
            )


def test_every_industry_parent_exists_one_level_up():
    industries = refdata.industries()
    for industry in industries.values():
        if industry.level == "section":
            assert industry.parent is None
        else:
            parent = industries[industry.parent]
            levels = refdata.INDUSTRY_LEVELS
            assert levels.index(parent.level) == levels.index(industry.level) - 1


def test_region_level_matches_code_shape():
    for region in refdata.regions().values():
        assert len(region.code) == 6
        assert region.code.isascii()
        assert region.code.isdigit()
        if region.level == "province":
            assert region.code.endswith("0000")
        elif region.level == "city":
            assert region.code.endswith("00")
            assert not region.code.endswith("0000")
        else:
            assert not region.code.endswith("00")


def test_industry_level_matches_code_shape():
    for industry in refdata.industries().values():
        if industry.level == "section":
            assert len(industry.code) == 1
            assert "A" <= industry.code <= "T"
        else:
            width = {"division": 2, "group": 3, "class": 4}[industry.level]
            assert len(industry.code) == width
            assert industry.code.isascii()
            assert industry.code.isdigit()
            if industry.level != "division":
                assert industry.code.startswith(industry.parent)


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("110000", "北京市", "province", None),
        ("130000", "河北省", "province", None),
        ("131000", "廊坊市", "city", "130000"),
        ("131024", "香河县", "county", "131000"),
        ("131028", "大厂回族自治县", "county", "131000"),
        ("810000", "香港特别行政区", "province", None),
        ("429004", "仙桃市", "county", "429000"),
    ],
)
def test_known_regions(code, name, level, parent):
    assert refdata.regions()[code] == refdata.Region(code, name, level, parent)


def test_thirty_four_provincial_divisions():
    assert sum(r.level == "province" for r in refdata.regions().values()) == 34


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("A", "农、林、牧、渔业", "section", None),
        ("01", "农业", "division", "A"),
        ("011", "谷物种植", "group", "01"),
        ("0111", "稻谷种植", "class", "011"),
        ("C", "制造业", "section", None),
        ("39", "计算机、通信和其他电子设备制造业", "division", "C"),
        ("526", "汽车、摩托车、零配件和燃料及其他动力销售", "group", "52"),
        ("5261", "汽车新车零售", "class", "526"),
        ("5267", "机动车充电销售", "class", "526"),
        ("6513", "应用软件开发", "class", "651"),
        ("T", "国际组织", "section", None),
    ],
)
def test_known_industries(code, name, level, parent):
    assert refdata.industries()[code] == refdata.Industry(code, name, level, parent)


def test_industry_names_use_full_width_parentheses():
    names = [i.name for i in refdata.industries().values()]
    assert not [n for n in names if "(" in n or ")" in n]
    assert refdata.industry_name("1922") == "皮箱、包（袋）制造"


def test_lookup_helpers():
    assert refdata.is_region("131024")
    assert not refdata.is_region("131099")
    assert not refdata.is_region("13102")
    assert refdata.region_name("131028") == "大厂回族自治县"
    assert refdata.region_name("000000") is None
    assert refdata.is_industry("5261")
    assert refdata.is_industry("F")
    assert not refdata.is_industry("F5261")
    assert refdata.industry_name("01") == "农业"
    assert refdata.industry_name("9999") is None


def test_versions_are_stated():
    assert "GB/T 2260" in refdata.REGIONS_VERSION
    assert "GB/T 4754-2017" in refdata.INDUSTRIES_VERSION


def test_industries_csv_is_what_the_build_script_makes():
    result = subprocess.run(
        [sys.executable, str(BUILD), "--check", "--only", "industries"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_regions_csv_is_what_the_build_script_makes():
    stdnum = pytest.importorskip("stdnum")
    if stdnum.__version__ != "2.2":
        pytest.skip("regions.csv was built from python-stdnum 2.2's loc.dat")
    result = subprocess.run(
        [sys.executable, str(BUILD), "--check", "--only", "regions"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
