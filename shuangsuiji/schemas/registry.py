"""The registry lists, imports and exports.

Input values are text, parsed by the same field parsers as an import (so the API accepts what a
spreadsheet cell may hold: "是"/"否", "2024-05-01", "A类"); outputs are typed.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .. import sizes
from ..columns import ENTITY_FIELDS, INSPECTOR_FIELDS, MATTER_FIELDS
from ..db import RISK_CLASSES
from ..db.states import CHECK_METHOD_LABELS, ImportStatus, InspectorStatus
from ..domain.result_codes import RESULT_CODES
from .common import OWN_DEPARTMENT, CursorQuery, whole

KIND_NAMES = ["entities", "inspectors", "matters", "conflicts"]
IMPORT_KIND_NAMES = [*KIND_NAMES, "risk_classes"]  # the monthly risk classes: updates only


def _input_schema(name: str, field_specs, *, partial: bool) -> type[Schema]:
    declared = {
        f.name: fields.String(
            required=f.required and not partial,
            allow_none=not f.required,
            validate=validate.Length(max=sizes.LONG_TEXT),
            metadata={"description": f.label},
        )
        for f in field_specs
    }
    declared["department_id"] = whole(load_default=None, metadata={"description": OWN_DEPARTMENT})
    return Schema.from_dict(declared, name=name)


EntityIn = _input_schema("EntityIn", ENTITY_FIELDS, partial=False)
EntityPatch = _input_schema("EntityPatch", ENTITY_FIELDS, partial=True)
InspectorIn = _input_schema("InspectorIn", INSPECTOR_FIELDS, partial=False)
InspectorPatch = _input_schema("InspectorPatch", INSPECTOR_FIELDS, partial=True)
MatterIn = _input_schema("MatterIn", MATTER_FIELDS, partial=False)
MatterPatch = _input_schema("MatterPatch", MATTER_FIELDS, partial=True)


class EntityOut(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    uscc = fields.String()
    name = fields.String()
    entity_type = fields.String(allow_none=True)
    industry_code = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)
    registration_authority = fields.String(allow_none=True)
    supervising_unit = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    registered_on = fields.Date(allow_none=True)
    status = fields.String()
    address = fields.String(allow_none=True)
    tags = fields.String(allow_none=True)
    abnormal_listed = fields.Boolean()
    risk_class = fields.String(allow_none=True)
    risk_class_month = fields.String(allow_none=True)
    last_checked_on = fields.Date(allow_none=True)
    check_count = fields.Integer()
    updated_at = fields.DateTime()


class InspectorOut(Schema):
    """身份证号 is never part of it: it stays on the department's admin pages."""

    id = fields.Integer()
    department_id = fields.Integer()
    name = fields.String()
    cert_no = fields.String()
    cert_issuer = fields.String(allow_none=True)
    cert_valid_until = fields.Date(allow_none=True)
    region_code = fields.String(allow_none=True)
    grid = fields.String(allow_none=True)
    qualifications = fields.String(allow_none=True)
    specialties = fields.String(allow_none=True)
    status = fields.String()
    is_expert = fields.Boolean()
    mobile = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class MatterOut(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    sub_item = fields.String(allow_none=True)
    legal_basis = fields.String(allow_none=True)
    target_scope = fields.String(allow_none=True)
    content = fields.String(allow_none=True)
    ratio = fields.String(allow_none=True)
    frequency = fields.String(allow_none=True)
    methods = fields.String(allow_none=True)
    inspector_requirements = fields.String(allow_none=True)
    category = fields.String()
    effective_from = fields.Date(allow_none=True)
    effective_to = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)


class ConflictOut(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    inspector_id = fields.Integer()
    entity_id = fields.Integer()
    reason = fields.String()
    declared_on = fields.Date()
    valid_until = fields.Date(allow_none=True)


class EntityQuery(CursorQuery):
    q = fields.String(
        validate=validate.Length(max=sizes.SHORT_TEXT), metadata={"description": "名称包含"}
    )
    uscc = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    region_code = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "行政区划代码（含下级）"},
    )
    industry_code = fields.String(
        validate=validate.Length(max=sizes.CODE_TEXT), metadata={"description": "行业代码前缀"}
    )
    entity_type = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))
    status = fields.String(validate=validate.Length(max=sizes.CODE_TEXT))
    risk_class = fields.String(validate=validate.OneOf(RISK_CLASSES))
    tag = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))
    abnormal_listed = fields.Boolean()


class InspectorQuery(CursorQuery):
    q = fields.String(
        validate=validate.Length(max=sizes.SHORT_TEXT),
        metadata={"description": "姓名包含，或执法证号"},
    )
    status = fields.String(validate=validate.OneOf(list(InspectorStatus)))
    qualification = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))


class MatterQuery(CursorQuery):
    q = fields.String(validate=validate.Length(max=sizes.SHORT_TEXT))
    category = fields.String(validate=validate.OneOf(["一般", "重点"]))


class ConflictQuery(CursorQuery):
    inspector_id = whole()
    entity_id = whole()


class ImportQuery(CursorQuery):
    kind = fields.String(validate=validate.OneOf(IMPORT_KIND_NAMES))
    status = fields.String(validate=validate.OneOf(list(ImportStatus)))


class ImportOut(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    status = fields.String()
    detected_format = fields.String(allow_none=True)
    detected_encoding = fields.String(allow_none=True)
    mapping = fields.Raw(allow_none=True, metadata={"description": "[表头, 字段] 对照"})
    unknown_headers = fields.Raw(allow_none=True)
    rows_read = fields.Integer()
    blank_rows = fields.Integer()
    inserted = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    error = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    validated_at = fields.DateTime(allow_none=True)
    applied_at = fields.DateTime(allow_none=True)


class ImportIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(IMPORT_KIND_NAMES))
    encoding = fields.String(
        load_default=None,
        validate=validate.OneOf(["utf-8", "gb18030", "gbk", "utf-16"]),
        metadata={"description": "CSV 编码（默认自动识别：BOM → UTF-8 → GB18030）"},
    )
    sheet = fields.String(load_default=None, validate=validate.Length(max=sizes.SHORT_TEXT))
    department_id = whole(load_default=None, metadata={"description": OWN_DEPARTMENT})


class ImportFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RejectOut(Schema):
    row_no = fields.Integer()
    column = fields.String()
    value = fields.String(allow_none=True)
    reason = fields.String()


class RejectQuery(CursorQuery):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class ExportIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KIND_NAMES))
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))
    filters = fields.Dict(load_default=dict)


# -- 检查表 ------------------------------------------------------------------------------------


class ChecklistItemOut(Schema):
    position = fields.Integer(metadata={"description": "序号（从 1 起）"})
    content = fields.String(metadata={"description": "检查内容"})
    method = fields.String(
        metadata={
            "description": "检查方法："
            + "、".join(f"{k}（{v}）" for k, v in CHECK_METHOD_LABELS.items())
        }
    )
    method_label = fields.Function(lambda i: CHECK_METHOD_LABELS.get(i.method, i.method))
    basis = fields.String(metadata={"description": "检查依据"})
    criterion = fields.String(allow_none=True, metadata={"description": "判定标准"})
    required = fields.Boolean(metadata={"description": "是否必查"})
    codes = fields.Function(
        lambda i: i.code_list, metadata={"description": "不符合时对应的检查结果代码"}
    )


class ChecklistOut(Schema):
    id = fields.Integer()
    matter_id = fields.Integer()
    department_id = fields.Integer()
    version = fields.Integer(metadata={"description": "版本号，新版本取代旧版本"})
    note = fields.String(allow_none=True, metadata={"description": "修订说明"})
    created_at = fields.DateTime()
    # "items" is a page's list everywhere in this API: a checklist's lines are its entries.
    entries = fields.List(
        fields.Nested(ChecklistItemOut), attribute="items", metadata={"description": "检查项"}
    )


class ChecklistItemIn(Schema):
    """Checked by the service (after the access check), which names each problem in Chinese."""

    content = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=sizes.NOTE_TEXT)
    )
    method = fields.String(
        load_default=None,
        validate=validate.Length(max=sizes.CODE_TEXT),
        metadata={"description": "检查方法：代码或中文名称（如 on_site 或 现场检查）"},
    )
    basis = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=sizes.NOTE_TEXT)
    )
    criterion = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=sizes.NOTE_TEXT)
    )
    required = fields.Boolean(load_default=True)
    codes = fields.List(
        fields.String(validate=validate.Length(max=sizes.CODE_TEXT)),
        load_default=None,
        validate=validate.Length(max=len(RESULT_CODES)),
        metadata={"description": "不符合时对应的检查结果代码（问题类代码，如 B、6）"},
    )


class ChecklistIn(Schema):
    entries = fields.List(
        fields.Nested(ChecklistItemIn),
        load_default=list,
        validate=validate.Length(max=200),
        metadata={"description": "检查项，按顺序"},
    )
    note = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=sizes.NOTE_TEXT)
    )
    based_on = whole(
        minimum=1,
        load_default=None,
        allow_none=True,
        metadata={"description": "修改所依据的版本号；已有更新的版本时返回 409"},
    )
