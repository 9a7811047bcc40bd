"""Every input the API takes has a documented bound: strings a maximum length (or a fixed
set, or a pattern), lists a maximum number of items, integers a maximum. Free-form objects
are bounded by API_MAX_JSON_BYTES and checked field by field by their service."""

from __future__ import annotations

import pytest

# Objects whose keys the service checks (and whose total size API_MAX_JSON_BYTES bounds).
FREE_FORM = {"strata", "filters", "matters", "randomness[]"}


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _unbounded(spec, schema, where, found, seen):
    schema = _resolve(spec, schema)
    kind = schema.get("type")
    if kind == "string":
        if not ({"maxLength", "enum", "pattern", "format"} & set(schema)):
            found.append(where)
    elif kind == "integer":
        if "maximum" not in schema:
            found.append(where)
    elif kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        _unbounded(spec, schema.get("items", {}), where + "[]", found, seen)
    elif kind == "object" or "properties" in schema:
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if "properties" not in schema and where.rsplit(".", 1)[-1] not in FREE_FORM:
            found.append(where)
        for name, prop in schema.get("properties", {}).items():
            _unbounded(spec, prop, f"{where}.{name}", found, seen)


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


def test_every_input_has_a_bound(spec):
    found: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            where = f"{method.upper()} {path}"
            for param in [*item.get("parameters", []), *op.get("parameters", [])]:
                _unbounded(spec, param.get("schema", {}), f"{where} {param['name']}", found, set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                _unbounded(spec, media.get("schema", {}), where, found, set())
    assert found == []


def test_a_json_body_beyond_api_max_json_bytes_is_413_naming_the_limit(app, client):
    app.config["API_MAX_JSON_BYTES"] = 1024
    response = client.post(
        "/api/v1/plans", data='{"title": "' + "x" * 2000 + '"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["message"] == "请求过大：不能超过 1 KB"
