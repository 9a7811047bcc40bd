"""The console in a real browser."""

from __future__ import annotations

import urllib.request

from shuangsuiji.cli.demo_data import DEMO_STAFF_PASSWORD


def _login(page, base_url, username, password=DEMO_STAFF_PASSWORD):
    page.goto(f"{base_url}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _status_with_cookie(base_url, path, cookie):
    request = urllib.request.Request(f"{base_url}{path}", headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_login_create_user_logout_and_old_cookie_is_dead(page, base_url):
    _login(page, base_url, "lf_admin")
    page.wait_for_selector("text=工作台")
    assert "王建国" in page.inner_text("header")

    page.click("nav >> text=用户")
    page.click("text=新建用户")
    page.fill("input[name=username]", "lf_newbie")
    page.fill("input[name=display_name]", "新来的检查员")
    page.select_option("select[name=role]", "inspector")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("#one-time-password")
    assert "用户已创建" in page.inner_text("h1")
    assert page.inner_text("#one-time-password").strip()

    page.click("text=返回用户列表")
    assert "新来的检查员" in page.inner_text("table")

    cookie = next(c for c in page.context.cookies() if c["name"] == "ssj_session")
    header = f"ssj_session={cookie['value']}"
    assert _status_with_cookie(base_url, "/console/users", header) == 200

    page.click("#logout")
    page.wait_for_selector("text=已退出登录")
    assert _status_with_cookie(base_url, "/console/users", header) == 302
    assert _status_with_cookie(base_url, "/api/v1/me", header) == 401
    assert page.console_errors == []


def test_api_docs_render_under_the_csp(page, base_url):
    page.goto(f"{base_url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "双随机" in page.inner_text(".swagger-ui .info .title")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_public_home_page(page, base_url):
    page.goto(base_url + "/")
    assert "双随机、一公开" in page.inner_text("h1")
    assert page.console_errors == []
