"""The result code list: hierarchy, exclusive codes, follow-up measures."""

from __future__ import annotations

from shuangsuiji.domain import result_codes as rc


def test_a_child_brings_its_parents_in_list_order():
    codes, problems = rc.check_codes(["6"])
    assert problems == []
    assert codes == ["A", "2", "6"]


def test_every_code_of_the_domain_table_is_listed_once_with_its_parent():
    assert len(rc.BY_CODE) == len(rc.RESULT_CODES) == 18
    assert rc.BY_CODE["B"].parent == "2" and rc.BY_CODE["2"].parent == "A"
    assert rc.BY_CODE["4"].parent == "A" and rc.BY_CODE["E"].parent is None


def test_no_problem_cannot_go_with_problem_codes():
    _, problems = rc.check_codes(["1", "C"])
    assert len(problems) == 1 and "未发现问题" in problems[0]


def test_a_parent_alone_asks_for_its_specific_case():
    _, problems = rc.check_codes(["A"])
    assert any("具体情形" in p for p in problems)
    _, problems = rc.check_codes(["2"])
    assert any("违反市场监管（工商）相关规定" in p for p in problems)


def test_only_one_of_deregistered_revoked_cancelled_moved():
    _, problems = rc.check_codes(["9", "10"])
    assert any("只能选择一项" in p for p in problems)


def test_unknown_and_empty_selections_are_named():
    assert rc.check_codes(["Z"])[1] == ["未知的检查结果代码：Z"]
    assert rc.check_codes([])[1] == ["请至少选择一项检查结果"]


def test_measures_none_is_exclusive_and_pending_problems_need_a_measure():
    assert rc.check_measures(["none", "order"], ["1"]) == [
        "“无需后续处置”不能与其他处置措施同时选择"
    ]
    assert any("须选择后续处置措施" in p for p in rc.check_measures(["none"], ["A", "3"]))
    assert rc.check_measures(["transfer"], ["A", "3"]) == []
    assert rc.check_measures([], ["1"]) == ["请至少选择一项后续处置措施"]
