"""The OpenAPI document says what the API does: public operations need no token, a 405 names
the allowed methods, file downloads name their content types, department ids their rule."""

from __future__ import annotations

import re

import pytest

from shuangsuiji import access

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


def _view_rule(app, path: str, method: str):
    for rule in app.url_map.iter_rules():
        openapi_path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        if openapi_path == path and method.upper() in rule.methods:
            return access.rule_for(app.view_functions[rule.endpoint], method.upper())
    raise AssertionError(f"no route for {method} {path}")


def test_public_operations_and_only_those_declare_no_security(app, spec):
    assert spec["security"] == [{"bearer": []}]
    public = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            rule = _view_rule(app, path, method)
            if rule.public:
                public.append(path)
                assert op.get("security") == [], f"{method} {path} is public"
            else:
                assert "security" not in op, f"{method} {path} needs a token"
    assert "/api/v1/public/draws/{draw_id}" in public and "/api/v1/public/results" in public


def test_public_operations_answer_without_a_token(client, spec):
    assert client.get("/api/v1/public/plans").status_code == 200
    assert client.get("/api/v1/public/results?q=廊坊").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/public/plans", {"GET", "HEAD", "OPTIONS"}),
        ("put", "/api/v1/plans", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("post", "/public/results", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_405_carries_an_allow_header(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_file_downloads_name_their_content_types(spec):
    rejects = spec["paths"]["/api/v1/imports/{import_id}/rejects"]["get"]["responses"]["200"]
    assert {"application/json", "text/csv", XLSX} <= set(rejects["content"])
    export = spec["paths"]["/api/v1/exports/{task_id}/file"]["get"]["responses"]["200"]
    assert {"text/csv", XLSX} <= set(export["content"])
    feed = spec["paths"]["/api/v1/credit/events"]["get"]["responses"]["200"]
    assert {"application/x-ndjson", "text/csv"} <= set(feed["content"])


def test_department_ids_say_they_must_exist(spec):
    schemas = spec["components"]["schemas"]
    for name, field in (
        ("UserIn", "department_id"),
        ("DepartmentIn", "parent_id"),
        ("PlanIn", "department_id"),
        ("EntityIn", "department_id"),
    ):
        assert "已存在的部门" in schemas[name]["properties"][field]["description"], name
