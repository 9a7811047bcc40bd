"""Reading console forms through the API's marshmallow input schemas (one validation library)."""

from __future__ import annotations

from flask import request
from marshmallow import Schema, ValidationError, fields

from ..errors import Invalid


def load_form(schema: Schema) -> dict:
    """The submitted form as the schema loads it; empty inputs count as not given."""
    raw = {}
    for name, field in schema.fields.items():
        if isinstance(field, fields.Boolean):
            if name in request.form or f"{name}__present" in request.form:
                raw[name] = request.form.get(name) in ("on", "1", "true")
            continue
        value = request.form.get(name, "").strip()
        if value != "":
            raw[name] = value
        elif field.allow_none and f"{name}__present" in request.form:
            raw[name] = None
    try:
        return schema.load(raw)
    except ValidationError as exc:
        raise Invalid("表单填写有误", errors=exc.messages) from None
