"""Result entry and review in the console; the public look-up pages and API; abuse."""

from __future__ import annotations

import io
import re

import pytest

from shuangsuiji.schemas.results import PublicFirmOut
from shuangsuiji.services.results import public_results, results
from shuangsuiji.web import results as results_views

from .. import results_world
from ..conftest import csrf_token, login
from ..results_world import PDF, PNG

XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def w(session, world):
    return results_world.drawn(session, world)


def _client(app, username):
    client = app.test_client()
    login(client, username)
    return client, csrf_token(client, "/console/tokens")


def _url(w, suffix=""):
    return f"/console/draws/{w['draw'].id}/results/{w['row'].drawn.position}{suffix}"


def _form(w, csrf, *, action="save", **extra):
    form = {"csrf_token": csrf, "action": action, "checked_on": w["checked_on"].isoformat()}
    for m in w["matters"]:
        form |= {
            f"m{m.id}_codes": ["1"],
            f"m{m.id}_methods": ["field"],
            f"m{m.id}_measures": "none",
        }
    return form | extra


def _published(app, session, w):
    inspector, csrf = _client(app, "insp_a")
    response = inspector.post(_url(w), data=_form(w, csrf, action="submit"))
    assert response.status_code == 302, response.get_data(as_text=True)
    admin, csrf = _client(app, "admin_a")
    response = admin.post(_url(w, "/review"), data={"csrf_token": csrf, "decision": "approve"})
    assert response.status_code == 302
    return admin


def test_inspector_enters_and_submits_on_the_form(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    page = client.get(_url(w)).get_data(as_text=True)
    assert "检查结果录入" in page and 'name="m' in page and "未录入" in page
    response = client.post(_url(w), data=_form(w, csrf, action="submit"))
    assert response.status_code == 302
    html = client.get(_url(w)).get_data(as_text=True)
    assert "待审核" in html and "检查结果已提交审核" in html


def test_an_incomplete_submission_keeps_the_draft_and_says_what_is_missing(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    first = w["matters"][0]
    form = _form(w, csrf, action="submit")
    for name in ("codes", "methods", "measures"):
        form.pop(f"m{w['matters'][1].id}_{name}")
    response = client.post(_url(w), data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已保存，但尚不能提交审核" in html and "食品安全检查" in html
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, 0)
    assert visit.status == "draft" and first.id in visit.results


def test_bad_codes_are_shown_in_chinese_next_to_the_matter(app, session, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    m = w["matters"][0]
    response = client.post(_url(w), data=_form(w, csrf, **{f"m{m.id}_codes": ["1", "C"]}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'data-field="matter_{m.id}"' in html and "不能与其他检查结果同时选择" in html
    assert 'value="C" checked' in html  # the input is kept
    assert "data-draft-unsaved" in html  # and kept in the tab by js/result-draft.js


def test_free_text_is_escaped_everywhere(app, session, world, w):
    w["entity"].name = "恶意企业" + XSS
    session.commit()
    client, csrf = _client(app, "insp_a")
    m = w["matters"][0]
    form = _form(
        w,
        csrf,
        notes=XSS,
        **{f"m{m.id}_notes": XSS, f"m{m.id}_measures": "other", f"m{m.id}_measure_other": XSS},
    )
    assert client.post(_url(w), data=form).status_code == 302
    html = client.get(_url(w)).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    client.post(_url(w), data=form | {"action": "submit"})
    admin, csrf = _client(app, "admin_a")
    admin.post(_url(w, "/review"), data={"csrf_token": csrf, "decision": "return", "comment": XSS})
    html = admin.get(_url(w)).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "审核意见：&#34;&gt;&lt;script&gt;" in html
    listing = admin.get("/console/results?status=returned").get_data(as_text=True)
    assert "<script>alert(1)" not in listing and "恶意企业" in listing


def test_another_departments_inspector_gets_404(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_b")
    assert client.get(_url(w)).status_code == 404
    assert client.post(_url(w), data=_form(w, csrf)).status_code == 404
    assert _upload(client, w, csrf, PNG, "a.png").status_code == 404


def test_a_reviewer_from_another_department_gets_404(app, session, world, w):
    session.commit()
    inspector, csrf = _client(app, "insp_a")
    inspector.post(_url(w), data=_form(w, csrf, action="submit"))
    other, csrf = _client(app, "admin_b")
    response = other.post(_url(w, "/review"), data={"csrf_token": csrf, "decision": "approve"})
    assert response.status_code == 404
    assert results.get_visit(session, world["admin_a"], w["draw"].id, 0).status == "submitted"


def _upload(client, w, csrf, data, name):
    return client.post(
        _url(w, "/attachments"),
        data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"GIF89a" + bytes(30), "photo.jpg"),
        (b"<html><script>alert(1)</script>", "scan.pdf"),
        (b"", "empty.png"),
    ],
)
def test_wrong_type_and_empty_attachments_get_a_chinese_error(app, session, w, data, name):
    session.commit()
    client, csrf = _client(app, "insp_a")
    response = _upload(client, w, csrf, data, name)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "JPEG、PNG" in html or "附件为空" in html
    assert "暂无附件" in html


def test_an_oversized_attachment_is_refused(app, session, w):
    session.commit()
    app.config["RESULT_ATTACHMENT_MAX_BYTES"] = 2048
    client, csrf = _client(app, "insp_a")
    response = _upload(client, w, csrf, PNG + bytes(4096), "big.png")
    assert response.status_code == 422
    assert "附件过大" in response.get_data(as_text=True)


def test_attachments_download_for_the_department_only(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    assert _upload(client, w, csrf, PDF, "通知书.pdf").status_code == 302
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, 0)
    [attachment] = visit.attachments
    url = f"/console/result-attachments/{attachment.id}"
    admin, _ = _client(app, "admin_a")
    response = admin.get(url)
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert "attachment;" in response.headers["Content-Disposition"]
    assert app.test_client().get(url).status_code == 302  # to the login page
    other, _ = _client(app, "admin_b")
    assert other.get(url).status_code == 404


def _save_with_files(client, w, csrf, files, **extra):
    """The entry form as a phone sends it: the typed draft and the chosen files in one post."""
    return client.post(
        _url(w),
        data=_form(w, csrf, **extra) | {"file": [(io.BytesIO(d), n) for d, n in files]},
        content_type="multipart/form-data",
    )


def test_the_entry_page_is_one_form_with_the_file_chooser_inside(app, session, w):
    session.commit()
    client, _ = _client(app, "insp_a")
    html = client.get(_url(w)).get_data(as_text=True)
    form = html[html.index('<form method="post" enctype="multipart/form-data"') :]
    form = form[: form.index("</form>")]
    assert 'id="result-form"' in form and 'type="file" name="file" multiple' in form
    assert 'id="upload-form"' not in html  # no second form that reloads the page
    assert "js/result-draft.js" in html and "data-draft-key=" in html
    assert "data-draft-saved" not in html and "data-draft-unsaved" not in html


def test_a_photo_saved_with_the_form_keeps_what_was_typed(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    m = w["matters"][0]
    response = _save_with_files(
        client,
        w,
        csrf,
        [(PNG, "现场照片.png"), (PDF, "通知书.pdf")],
        notes="现场无人，门已上锁",
        **{
            f"m{m.id}_codes": ["6"],
            f"m{m.id}_measures": "feedback",
            f"m{m.id}_notes": "邻居称已搬走",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, 0)
    assert visit.record.notes == "现场无人，门已上锁"
    assert (
        "6" in visit.results[m.id].codes.split(",") and visit.results[m.id].notes == "邻居称已搬走"
    )
    assert [(a.filename, a.data) for a in visit.attachments] == [
        ("现场照片.png", PNG),
        ("通知书.pdf", PDF),
    ]
    html = client.get(_url(w)).get_data(as_text=True)
    assert "检查结果已保存" in html and "附件已上传（2 个）" in html
    assert "data-draft-saved" in html  # the tab's copy of the typed draft is dropped
    assert "现场无人，门已上锁" in html and 'value="6" checked' in html


def test_saving_without_choosing_a_file_stores_no_attachment(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    response = _save_with_files(client, w, csrf, [(b"", "")], notes="只保存文字")
    assert response.status_code == 302, response.get_data(as_text=True)
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, 0)
    assert visit.record.notes == "只保存文字" and visit.attachments == []


def test_a_refused_photo_keeps_the_draft_and_shows_the_typed_values(app, session, world, w):
    session.commit()
    client, csrf = _client(app, "insp_a")
    m = w["matters"][0]
    response = _save_with_files(
        client,
        w,
        csrf,
        [(PNG, "好的.png"), (b"GIF89a" + bytes(30), "动图.png")],
        action="submit",
        notes="门店已关闭",
        **{f"m{m.id}_codes": ["6"], f"m{m.id}_measures": "feedback"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "检查结果已保存，但附件“动图.png”未上传" in html and 'data-field="file"' in html
    assert ">门店已关闭</textarea>" in html and 'value="6" checked' in html
    visit = results.get_visit(session, world["admin_a"], w["draw"].id, 0)
    assert visit.status == "draft"  # not handed to review with a file missing
    assert visit.record.notes == "门店已关闭" and "6" in visit.results[m.id].codes.split(",")
    assert [a.filename for a in visit.attachments] == ["好的.png"]


def test_approval_publishes_on_the_public_page_and_api(app, session, world, w):
    w["inspector"].id_number = "110101199003071234"
    w["entity"].risk_class = "D"
    session.commit()
    uscc = w["row"].drawn.uscc
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/public/firms/{uscc}").status_code == 404
    assert anonymous.get(f"/public/firms/{uscc}").status_code == 404
    _published(app, session, w)
    html = anonymous.get(f"/public/firms/{uscc}").get_data(as_text=True)
    assert w["entity"].name in html and world["a"].name in html and "未发现问题" in html
    for secret in ("110101199003071234", "信用风险", "D 类", w["inspector"].name):
        assert secret not in html
    doc = anonymous.get(f"/api/v1/public/firms/{uscc}").get_json()
    assert doc["uscc"] == uscc and len(doc["inspections"]) == 1
    assert doc == PublicFirmOut().dump(public_results.firm(session, uscc))  # hand-serialised
    assert "inspectors" not in doc["inspections"][0]
    search = anonymous.get("/public/results", query_string={"q": w["entity"].name[:6]})
    assert uscc in search.get_data(as_text=True)
    found = anonymous.get("/api/v1/public/results", query_string={"q": uscc}).get_json()
    assert [h["uscc"] for h in found["items"]] == [uscc] and found["mode"] == "uscc"


def test_inspector_names_appear_only_when_the_deployment_allows(app, session, world, w):
    session.commit()
    _published(app, session, w)
    uscc = w["row"].drawn.uscc
    app.config["PUBLIC_SHOW_INSPECTOR_NAMES"] = True
    html = app.test_client().get(f"/public/firms/{uscc}").get_data(as_text=True)
    assert w["inspector"].name in html


def test_unpublished_results_are_404_on_the_public_api(app, session, world, w):
    session.commit()
    inspector, csrf = _client(app, "insp_a")
    inspector.post(_url(w), data=_form(w, csrf, action="submit"))
    uscc = w["row"].drawn.uscc
    anonymous = app.test_client()
    response = anonymous.get(f"/api/v1/public/firms/{uscc}")
    assert response.status_code == 404 and response.get_json()["code"] == 404
    assert (
        anonymous.get("/api/v1/public/results", query_string={"q": uscc}).get_json()["items"] == []
    )
    for path in ("/api/v1/public/firms/%25", "/api/v1/public/firms/' OR 1=1 --"):
        assert anonymous.get(path).status_code == 404


def test_search_refuses_short_terms_and_listing_everything(app, session):
    session.commit()
    client = app.test_client()
    assert client.get("/api/v1/public/results", query_string={"q": "企"}).status_code == 422
    assert client.get("/api/v1/public/results").status_code == 422
    forged = client.get("/api/v1/public/results", query_string={"q": "企业", "cursor": "x"})
    assert forged.status_code == 422 and "cursor" in forged.get_json()["errors"]
    page = client.get("/public/results", query_string={"q": "%"})
    assert page.status_code == 422 and "至少 2 个字" in page.get_data(as_text=True)
    assert client.get("/public/results").status_code == 200  # the empty form


def test_searches_are_rate_limited_per_client_address(app, session):
    session.commit()
    app.config["PUBLIC_SEARCH_RATE_LIMIT"] = "3 per minute"
    client = app.test_client()
    codes = [
        client.get("/api/v1/public/results", query_string={"q": "企业"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert client.get("/public/results", query_string={"q": "企业"}).status_code == 429
    other = client.get(
        "/public/results", query_string={"q": "企业"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 200  # another address has its own allowance
    # A firm by its exact USCC is one indexed read of public data: not limited.
    assert client.get("/api/v1/public/firms/91131024000000001X").status_code == 404


def test_behind_a_proxy_the_limit_counts_the_forwarded_client_address(db, session, tmp_path):
    """With BEHIND_PROXY (ProxyFix, one trusted hop) each client behind nginx has its own
    allowance; without it they would all share the proxy's address."""
    from shuangsuiji.app import create_app

    session.commit()
    counts = {}
    for behind in (True, False):
        app = create_app(
            {
                "ENV": "testing",
                "BEHIND_PROXY": behind,
                "PUBLIC_SEARCH_RATE_LIMIT": "2 per minute",
                "UPLOAD_DIR": str(tmp_path / "u"),
                "EXPORT_DIR": str(tmp_path / "e"),
            },
            database=db,
        )
        client = app.test_client()
        counts[behind] = [
            client.get(
                "/public/results",
                query_string={"q": "企业"},
                headers={"X-Forwarded-For": f"203.0.113.{n % 2}"},
            ).status_code
            for n in range(4)
        ]
    assert counts[True] == [200, 200, 200, 200]  # two clients, two requests each
    assert counts[False] == [200, 200, 429, 429]  # everyone is the proxy


def test_the_review_list_pages_newest_submission_first(app, session, world, w, monkeypatch):
    """Every record is reached page by page after a cursor (no OFFSET, no count)."""
    monkeypatch.setattr(results_views, "RESULTS_PER_PAGE", 2)
    positions = [results_world.enter(session, w, world["admin_a"], position=p) for p in range(5)]
    session.commit()
    client, _csrf = _client(app, "admin_a")

    def walk(url):
        seen, pages = [], 0
        while url:
            response = client.get(url)
            assert response.status_code == 200
            html = response.get_data(as_text=True)
            assert "共 " not in html
            seen += [int(p) for p in re.findall(r'/results/(\d+)">', html)]
            pages += 1
            found = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)
            url = found.group(1).replace("&amp;", "&") if found else None
        return seen, pages

    newest_first = list(reversed(positions))
    assert walk("/console/results") == (newest_first, 3)  # 待审核 by default
    assert walk("/console/results?status=") == (newest_first, 3)  # all, by id
    assert walk("/console/results?status=published") == ([], 1)
    response = client.get("/console/results?cursor=nonsense")
    assert response.status_code == 422
