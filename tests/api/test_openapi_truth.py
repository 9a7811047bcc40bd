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


# Lists bounded by something other than the years: the department tree, one plan's or one
# draw's own rows. The outbox gateway queue and the credit feed page by `after` and `limit`.
BOUNDED_LISTS = {
    "/api/v1/departments",
    "/api/v1/plans/{plan_id}/participations",
    "/api/v1/plans/{plan_id}/draws",
    "/api/v1/plans/{plan_id}/batches",
    "/api/v1/draws/{draw_id}/replacements",
    "/api/v1/outbox/messages",
}


def _schema(spec, ref_or_schema):
    ref = ref_or_schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def test_every_list_pages_by_cursor_and_says_how(spec):
    """A list that grows with the years answers {items, next, limit} after a `cursor`, with a
    `limit` whose default and maximum are documented, and a Link header (issue 19)."""
    paged = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        content = op["responses"].get("200", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        body = _schema(spec, content["schema"])
        if body.get("type") == "array":
            assert path in BOUNDED_LISTS, f"{path} answers a bare array: page it by cursor"
            continue
        if "items" not in body.get("properties", {}):
            continue
        paged.append(path)
        assert {"items", "next", "limit"} <= set(body["properties"]), path
        params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        assert "cursor" in params and "page" not in params and "per_page" not in params, path
        limit = params["limit"]["schema"]
        assert (limit["minimum"], limit["maximum"]) == (1, 200), path
        assert "默认 50" in params["limit"]["description"], path
        assert "Link" in op["responses"]["200"].get("headers", {}), path
    assert len(paged) >= 18
