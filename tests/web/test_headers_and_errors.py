from shuangsuiji.access import public


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # only when FORCE_HTTPS


def test_api_error_has_one_shape(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json() == {
        "code": 401,
        "status": "Unauthorized",
        "message": "未登录或令牌无效",
    }


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_unknown_page_is_chinese_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面或对象不存在" in response.get_data(as_text=True)


def test_500_reveals_nothing(app, client):
    @public
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    app.add_url_rule("/api/v1/boom", "boom", boom)
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "hunter2" not in body and "Traceback" not in body
    assert response.get_json()["message"] == "服务器内部错误，请稍后再试"


def test_openapi_and_swagger_served_locally(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/users" in spec["paths"]
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "http" not in page.split("<body>")[1]  # no CDN
    with client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js") as response:
        assert response.status_code == 200
