"""A clerk's import round trip in a real browser: upload with problems → preview → confirm →
progress → report download."""

from __future__ import annotations

from shuangsuiji.domain import uscc

from .test_console import _login


def test_clerk_imports_a_file_with_problems(page, base_url, tmp_path):
    good = [uscc.make(f"91131024{n:09d}") for n in (101, 102, 103)]
    content = "统一社会信用代码,企业名称,行政区划代码,登记状态\n" + "".join(
        [
            f"{good[0]},香河县恒达商贸有限公司,131024,存续\n",
            f"{good[1]},香河县瑞丰食品有限公司,131024,存续\n",
            f"{good[0]},重复的行,131024,存续\n",
            "91131024MA0XXXXX00,校验位错误的公司,131024,存续\n",
            f"{good[2]},<script>alert(1)</script>公司,131024,存续\n",
        ]
    )
    upload = tmp_path / "香河名录.csv"
    upload.write_bytes(content.encode("gbk"))

    _login(page, base_url, "xh_admin")
    page.wait_for_selector("text=工作台")
    page.click("nav >> text=导入")
    page.select_option("select[name=kind]", "entities")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload-form button[type=submit]")

    page.wait_for_selector("#confirm-import", timeout=20000)  # validated in the background
    assert page.inner_text("#count-read") == "5"
    assert page.inner_text("#count-inserted") == "3"
    assert page.inner_text("#count-rejected") == "2"
    rejects = page.inner_text("#rejects")
    assert "与文件第 2 行重复" in rejects and "校验" in rejects

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#confirm-import")
    page.wait_for_selector("#import-done", timeout=20000)
    assert page.inner_text("#count-inserted") == "3"

    with page.expect_download() as download_info:
        page.click("#rejects-xlsx")
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(saved)).get_sheet_by_index(0).to_python()
    assert rows[0] == [
        "原行号",
        "有误的列",
        "拒绝原因",
        "统一社会信用代码",
        "企业名称",
        "行政区划代码",
        "登记状态",
    ]
    assert {int(r[0]) for r in rows[1:]} == {4, 5}  # each with its cells, to fix and re-import

    page.click("nav >> text=检查对象")
    page.fill("input[name=q]", "script")
    page.click("#search-form button[type=submit]")
    assert "<script>alert(1)</script>公司" in page.inner_text("table.registry")
    assert page.console_errors == []
