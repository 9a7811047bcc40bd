"""统一社会信用代码: our validator, and how it agrees with python-stdnum's."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from shuangsuiji.domain.uscc import (
    ALPHABET,
    REGISTRATION_AUTHORITIES,
    InvalidUSCC,
    all_canonical,
    check_character,
    is_valid,
    make,
    normalize,
    validate,
)

# Codes in the real-world format that both validators accept (the first is stdnum's own
# example). Golden values: a change in the algorithm breaks these.
PUBLISHED_FORMAT = [
    "91110000600037341L",
    "91350100M000100Y43",
    "91440300708461136T",
    "9144030071526726XG",
    "91330100716105852F",
]
# Computed with make() and cross-checked with stdnum.cn.uscc.calc_check_digit when written.
COMPUTED = [
    "91131024MA0A12345K",  # 企业, 香河县
    "9213102800000001XD",  # 个体工商户, 大厂回族自治县
    "931310247000000ABH",  # 农民专业合作社
    "5111000050000000X5",  # 民政: 社会团体
    "12100000400000000W",  # 机构编制: 事业单位
]
# Authorities A, N and Y: valid codes that stdnum's validate() turns away.
AUTHORITIES_ANY = [
    "A1110000MB0000001M",
    "N2110105MA0000000E",
    "Y1440300MC000000XR",
]

DIGITS_1_9 = "123456789"
FULL_WIDTH = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def first17(authorities: str = DIGITS_1_9) -> st.SearchStrategy[str]:
    """17-character prefixes in the USCC layout: authority, category 1–9, 6 digits, 9 chars."""
    return st.builds(
        lambda a, b, region, ident: a + b + region + ident,
        st.sampled_from(authorities),
        st.sampled_from(DIGITS_1_9),
        st.text(alphabet="0123456789", min_size=6, max_size=6),
        st.text(alphabet=ALPHABET, min_size=9, max_size=9),
    )


@st.composite
def codes_stdnum_considers(draw) -> str:
    """Valid codes with authority 1–9 and variants broken in one place after position 2."""
    code = make(draw(first17()))
    kind = draw(st.sampled_from(["valid", "replace", "delete", "insert", "swap", "check"]))
    noise = st.sampled_from(ALPHABET + "IOSVZ" + "abxyz" + "!#*")
    index = draw(st.integers(min_value=2, max_value=len(code) - 1))
    if kind == "replace":
        return code[:index] + draw(noise) + code[index + 1 :]
    if kind == "delete":
        return code[:index] + code[index + 1 :]
    if kind == "insert":
        return code[:index] + draw(noise) + code[index:]
    if kind == "swap" and index < len(code) - 1:
        return code[:index] + code[index + 1] + code[index] + code[index + 2 :]
    if kind == "check":
        return code[:-1] + draw(st.sampled_from(ALPHABET))
    return code


@pytest.mark.parametrize("code", PUBLISHED_FORMAT + COMPUTED)
def test_golden_codes_are_valid_for_both_validators(code):
    assert validate(code) == code
    assert stdnum_uscc.is_valid(code)


@pytest.mark.parametrize("code", PUBLISHED_FORMAT + COMPUTED + AUTHORITIES_ANY)
def test_make_appends_the_golden_check_character(code):
    assert make(code[:17]) == code


@pytest.mark.parametrize("code", AUTHORITIES_ANY)
def test_authorities_a_n_y_are_accepted(code):
    assert validate(code) == code
    assert stdnum_uscc.calc_check_digit(code[:17]) == code[17]


@given(codes_stdnum_considers())
def test_agrees_with_stdnum_when_authority_and_category_are_digits(code):
    assert is_valid(code) == stdnum_uscc.is_valid(code)


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_check_character_matches_stdnum(prefix):
    assert check_character(prefix) == stdnum_uscc.calc_check_digit(prefix)


@given(first17(REGISTRATION_AUTHORITIES))
def test_make_produces_valid_codes_for_every_authority(prefix):
    assert is_valid(make(prefix))


@given(first17(REGISTRATION_AUTHORITIES), st.data())
def test_any_single_substitution_is_caught(prefix, data):
    code = make(prefix)
    index = data.draw(st.integers(min_value=0, max_value=17))
    replacement = data.draw(st.sampled_from(ALPHABET.replace(code[index], "")))
    assert not is_valid(code[:index] + replacement + code[index + 1 :])


@given(first17(REGISTRATION_AUTHORITIES))
def test_full_width_input_is_folded_and_accepted(prefix):
    code = make(prefix)
    assert validate(code.translate(FULL_WIDTH)) == code


def test_full_width_digits_and_ideographic_spaces():
    assert validate("９１１１００００　６０００３７３４１Ｌ") == "91110000600037341L"


def test_lower_case_and_inner_spaces_are_accepted():
    assert validate(" 9111 0000 6000 3734 1l\n") == "91110000600037341L"


def test_normalize_folds_without_validating():
    assert normalize("ａｂ　1 2") == "AB12"


def test_is_valid_is_false_instead_of_raising():
    assert is_valid("91110000600037341L")
    assert not is_valid("91110000600037341M")
    assert not is_valid("")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12345", "统一社会信用代码应为18位，实际为5位"),
        ("91110000600037341LL", "统一社会信用代码应为18位，实际为19位"),
        ("01110000600037341L", "第1位登记管理部门码“0”无效，应为1–9、A、N或Y"),
        ("B1110000600037341L", "第1位登记管理部门码“B”无效，应为1–9、A、N或Y"),
        ("90110000600037341L", "第2位机构类别码“0”无效，应为1–9"),
        ("9A110000600037341L", "第2位机构类别码“A”无效，应为1–9"),
        ("911A0000600037341L", "第4位“A”无效，第3–8位登记管理机关行政区划码应为数字"),
        (
            "91110000600O37341L",
            "第12位字符“O”不在代码字符集内（数字0–9和除I、O、S、V、Z以外的大写字母）",
        ),
        (
            "9111000060003734!L",
            "第17位字符“!”不在代码字符集内（数字0–9和除I、O、S、V、Z以外的大写字母）",
        ),
        ("91110000600037341M", "校验码错误：第18位应为“L”，实际为“M”"),
    ],
)
def test_error_messages_say_what_is_wrong(raw, message):
    with pytest.raises(InvalidUSCC, match=f"^{re.escape(message)}$"):
        validate(raw)


def test_invalid_uscc_is_a_value_error():
    assert issubclass(InvalidUSCC, ValueError)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("9111000060003734", "计算校验码需要前17位，实际为16位"),
        (
            "9111000060003734I",
            "第17位字符“I”不在代码字符集内（数字0–9和除I、O、S、V、Z以外的大写字母）",
        ),
    ],
)
def test_check_character_rejects_bad_prefixes(prefix, message):
    with pytest.raises(InvalidUSCC, match=f"^{re.escape(message)}$"):
        check_character(prefix)


# --- a batch at once (imports) ------------------------------------------------------------------


@given(st.lists(codes_stdnum_considers() | st.sampled_from(AUTHORITIES_ANY), max_size=30))
def test_all_canonical_is_true_exactly_when_validate_returns_every_code_as_is(codes):
    def as_is(code: str) -> bool:
        try:
            return validate(code) == code
        except InvalidUSCC:
            return False

    assert all_canonical(codes) == (bool(codes) and all(map(as_is, codes)))


def test_all_canonical_wants_the_canonical_form():
    code = COMPUTED[0]
    assert all_canonical([code] * 3)
    assert not all_canonical([code, code.lower()])  # valid, but validate() upper-cases it
    assert not all_canonical([code, code.translate(FULL_WIDTH)])
    assert not all_canonical([code[:-1] + ("0" if code[-1] != "0" else "1")])
    # 17 + 19 characters: aligned on the whole, but not one code each.
    assert not all_canonical([code[:17], code + "0"])
