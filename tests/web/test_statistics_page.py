"""The statistics page: who sees it, its charts and tables, exports with formula escaping."""

from __future__ import annotations

import io
import re

import openpyxl

from .. import results_world
from ..conftest import login


def _published(session, world):
    w = results_world.drawn(session, world)
    results_world.enter(session, w, world["admin_a"], approve_as=world["sysadmin"])
    return w


def test_the_page_shows_rates_a_chart_and_estimates(app, session, world):
    w = _published(session, world)
    client = app.test_client()
    login(client, "admin_a")
    html = client.get(f"/console/statistics?year={w['draw'].created_at.year}").get_data(
        as_text=True
    )
    assert "抽查计划完成率" in html and "检查结果公示率" in html
    assert '<svg class="chart"' in html and "1 未发现问题" in html
    assert "未填行业" in html and "95%" in html


def test_inspectors_are_refused_and_bad_years_are_named(app, session, world):
    client = app.test_client()
    login(client, "insp_a")
    assert client.get("/console/statistics").status_code == 403
    client = app.test_client()
    login(client, "admin_a")
    response = client.get("/console/statistics?year=20x6")
    assert response.status_code == 422 and "年份" in response.get_data(as_text=True)
    assert client.get(f"/console/statistics?department_id={world['b'].id}").status_code == 404


def test_exports_escape_formulas_in_csv_and_xlsx(app, session, world):
    w = _published(session, world)
    world["a"].name = '=HYPERLINK("http://evil","x")'
    session.flush()
    client = app.test_client()
    login(client, "admin_a")
    year = w["draw"].created_at.year
    csv = client.get(f"/console/statistics/export?year={year}&table=rates&format=csv")
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
    assert "'=HYPERLINK" in csv.data.decode("utf-8-sig")
    xlsx = client.get(f"/console/statistics/export?year={year}&table=rates&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet["A2"].value.startswith("'=HYPERLINK") and sheet["A2"].data_type == "s"
    assert client.get(f"/console/statistics/export?year={year}&table=nope").status_code == 404


def test_one_result_says_too_few_instead_of_an_interval(app, session, world):
    w = _published(session, world)
    client = app.test_client()
    login(client, "admin_a")
    html = client.get(f"/console/statistics?year={w['draw'].created_at.year}").get_data(
        as_text=True
    )
    assert "样本不足" in html and "方法与假设" in html and "有效样本量" in html
    assert "已公示 1 户，少于 10 户" in html
    assert not re.search(r"（\d+\.\d%–\d+\.\d%）", html)  # no interval anywhere
    xlsx = client.get(
        f"/console/statistics/export?year={w['draw'].created_at.year}&table=industries&format=csv"
    )
    assert "样本不足" in xlsx.data.decode("utf-8-sig")


def test_the_page_drills_down_from_the_province_and_takes_a_span_of_years(app, session, world):
    w = _published(session, world)
    year = w["draw"].created_at.year
    client = app.test_client()
    login(client, "root")
    province = world["province"].id
    html = client.get(f"/console/statistics?year={year}&department_id={province}").get_data(
        as_text=True
    )
    assert "逐级汇总" in html
    assert f"department_id={world['a'].id}" in html and f"department_id={world['b'].id}" in html
    city = client.get(f"/console/statistics?year={year}&department_id={world['a'].id}")
    page = city.get_data(as_text=True)
    assert city.status_code == 200 and world["province"].name in page.split("<h1")[1]
    assert "含下级部门" in page
    span = client.get(f"/console/statistics?year={year - 1}&to_year={year}")
    assert span.status_code == 200 and f"{year - 1}–{year} 年内" in span.get_data(as_text=True)
    for bad in (f"year={year}&to_year={year - 1}", f"year={year}&to_year={year + 10}"):
        response = client.get(f"/console/statistics?{bad}")
        assert response.status_code == 422 and "年份" in response.get_data(as_text=True)
