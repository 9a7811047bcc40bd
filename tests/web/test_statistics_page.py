"""The statistics page: who sees it, its charts and tables, exports with formula escaping."""

from __future__ import annotations

import io

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
