"""统一社会信用代码 (USCC, GB 32100-2015): the 18-character code that identifies a market
entity on the registry.

Layout, by position (1-based):

    1      登记管理部门码   registration authority: 1–9, A, N or Y (9 = market regulation)
    2      机构类别码       entity category within that authority (91 企业, 92 个体工商户, …)
    3–8    登记管理机关行政区划码  GB/T 2260 code of the registering authority, six digits
    9–17   主体标识码       the entity's identifier (the former 组织机构代码)
    18     校验码           check character

Characters come from the 31-character alphabet 0–9 and A–Z without I, O, S, V and Z. The check
character makes sum(value(c_i) * 3^(i-1) mod 31) + value(c_18) ≡ 0 (mod 31).

python-stdnum's ``cn.uscc`` computes the same check character, but it requires the first eight
characters to be digits, so it rejects valid codes issued by authorities A, N and Y, and it does
not fold full-width characters. This module accepts both; tests cross-check the two.

Pure: stdlib and numpy, no I/O.
"""

from __future__ import annotations

import operator
import re
import unicodedata

import numpy as np

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""Code characters, in value order: a character's value is its index here."""

LENGTH = 18
WEIGHTS = tuple(pow(3, i, 31) for i in range(LENGTH - 1))
"""Weight of positions 1–17: 3^(i-1) mod 31."""

REGISTRATION_AUTHORITIES = "123456789ANY"
"""登记管理部门码 in use: 1 机构编制 … 9 市场监管, A 中央军委改革和编制办公室, N 农业, Y 其他."""

CATEGORIES = "123456789"
"""机构类别码: GB 32100 allows a digit or capital letter here, but every category allocated so
far is a digit 1–9, so anything else is almost certainly a typing error (O for 0, I for 1)."""

_DIGITS = "0123456789"
_VALUES = {char: value for value, char in enumerate(ALPHABET)}


class InvalidUSCC(ValueError):
    """The text is not a valid 统一社会信用代码; the message says why, in Chinese."""


def normalize(raw: str) -> str:
    """Fold raw input to the canonical form: NFKC (full-width ９１ becomes 91), every
    whitespace character removed (codes are often pasted in groups), upper case."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def check_character(first17: str) -> str:
    """The 校验码 for the first 17 characters of a code (already normalised).

    Raises InvalidUSCC if first17 is not 17 characters of the code alphabet.
    """
    if len(first17) != LENGTH - 1:
        raise InvalidUSCC(f"计算校验码需要前17位，实际为{len(first17)}位")
    for position, char in enumerate(first17, start=1):
        if char not in _VALUES:
            raise InvalidUSCC(_not_in_alphabet(position, char))
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


# A code already in canonical form, as nearly every row of a registry export is: checked
# without NFKC and per-character loops (imports validate millions of them).
_VALUE_BYTES = bytes.maketrans(ALPHABET.encode(), bytes(range(len(ALPHABET))))
_CANONICAL = re.compile(r"[1-9ANY][1-9][0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")


def validate(raw: str) -> str:
    """Return the normalised code, or raise InvalidUSCC naming the first problem found.

    Checks, in order: length, 登记管理部门码, 机构类别码, digits in positions 3–8, the
    alphabet in positions 9–18, the 校验码. Positions 3–8 are not looked up in GB/T 2260:
    codes keep the region code in force when they were issued.
    """
    if _CANONICAL.fullmatch(raw):  # ASCII: each character's value by bytes.translate
        total = sum(map(operator.mul, raw[:17].encode().translate(_VALUE_BYTES), WEIGHTS))
        if raw[17] == ALPHABET[(31 - total % 31) % 31]:
            return raw
    code = normalize(raw)
    if len(code) != LENGTH:
        raise InvalidUSCC(f"统一社会信用代码应为18位，实际为{len(code)}位")
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidUSCC(f"第1位登记管理部门码“{code[0]}”无效，应为1–9、A、N或Y")
    if code[1] not in CATEGORIES:
        raise InvalidUSCC(f"第2位机构类别码“{code[1]}”无效，应为1–9")
    for position, char in enumerate(code[2:8], start=3):
        if char not in _DIGITS:
            raise InvalidUSCC(f"第{position}位“{char}”无效，第3–8位登记管理机关行政区划码应为数字")
    for position, char in enumerate(code[8:], start=9):
        if char not in _VALUES:
            raise InvalidUSCC(_not_in_alphabet(position, char))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidUSCC(f"校验码错误：第18位应为“{expected}”，实际为“{code[17]}”")
    return code


_VALUE_TABLE = np.zeros(256, np.int64)
_VALUE_TABLE[np.frombuffer(ALPHABET.encode(), np.uint8)] = np.arange(len(ALPHABET))
_WEIGHT_VECTOR = np.array(WEIGHTS, np.int64)
_CANONICAL_RUN = re.compile(f"(?:{_CANONICAL.pattern})*")


def all_canonical(codes: tuple[str, ...] | list[str]) -> bool:
    """Whether every code is valid and already canonical (validate would return it as is):
    a batch of a registry export checked at once, the check characters with numpy. False
    says only that some code needs validate()."""
    if not codes or set(map(len, codes)) != {LENGTH}:
        return False
    joined = "".join(codes)
    if not _CANONICAL_RUN.fullmatch(joined):  # aligned: every code is 18 characters
        return False
    values = _VALUE_TABLE[np.frombuffer(joined.encode(), np.uint8).reshape(-1, LENGTH)]
    expected = (31 - values[:, : LENGTH - 1] @ _WEIGHT_VECTOR % 31) % 31
    return bool((expected == values[:, LENGTH - 1]).all())


def is_valid(raw: str) -> bool:
    """Whether validate(raw) would succeed."""
    try:
        validate(raw)
    except InvalidUSCC:
        return False
    return True


def make(first17: str) -> str:
    """normalize(first17) followed by its check character: for tests and demo data."""
    code = normalize(first17)
    return code + check_character(code)


def _not_in_alphabet(position: int, char: str) -> str:
    return f"第{position}位字符“{char}”不在代码字符集内（数字0–9和除I、O、S、V、Z以外的大写字母）"
