"""一单两库 over the API: search, view and edit the lists; import and export files."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import ADMINS, ALL_STAFF, OVERSEERS, allow, signed_in
from ..downloads import checklist_file, export_file, rejects_file
from ..edge import actor, db_session
from ..errors import Invalid
from ..schemas.common import LINK_HEADER, CursorQuery, TaskOut, cursor_page_of
from ..schemas.registry import (
    ChecklistIn,
    ChecklistOut,
    ConflictOut,
    ConflictQuery,
    EntityIn,
    EntityOut,
    EntityPatch,
    EntityQuery,
    ExportIn,
    ImportIn,
    ImportOut,
    ImportQuery,
    InspectorIn,
    InspectorOut,
    InspectorPatch,
    InspectorQuery,
    MatterIn,
    MatterOut,
    MatterPatch,
    MatterQuery,
    RejectOut,
    RejectQuery,
)
from ..services import scope
from ..services.registry import checklists, exports, imports
from ..services.registry import records as registry
from ..sizes import INT_MAX, NOTE_TEXT
from .paging import limit_of, paged
from .tasks import task_out

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE = {"schema": {"type": "string", "format": "binary"}}
JSON = "application/json"
REJECTS = {"schema": {"$ref": "#/components/schemas/RejectCursorPage"}}
blp = Blueprint(
    "registries", __name__, url_prefix="", description="一单两库：事项、对象、人员、回避"
)


def _page(kind: str, args: dict) -> tuple:
    """One keyset page of `kind`'s list with the request's filters."""
    filters = {k: v for k, v in args.items() if k not in ("cursor", "limit")}
    page = registry.page(
        db_session(), actor(), kind, filters, cursor=args["cursor"], limit=limit_of(args)
    )
    return paged(page, page.items)


def _text_values(values: dict) -> tuple[int | None, dict]:
    department_id = values.pop("department_id", None)
    return department_id, {k: ("" if v is None else v) for k, v in values.items()}


def _create(kind: str, values: dict):
    department_id, raw = _text_values(values)
    user = actor()
    department_id = scope.own_department(user, department_id)
    if department_id is None:
        raise Invalid("请指定所属部门", errors={"department_id": ["必填"]})
    return registry.create(
        db_session(), actor=user, kind=kind, department_id=department_id, raw=raw
    )


def _update(kind: str, object_id: int, values: dict):
    _, raw = _text_values(values)
    return registry.update(db_session(), actor=actor(), kind=kind, object_id=object_id, raw=raw)


@blp.route("/entities")
class Entities(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(EntityQuery, location="query")
    @blp.response(200, cursor_page_of(EntityOut, "EntityCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """检查对象名录：按名称、信用代码、区划、行业、类型、状态、风险分类、标签检索"""
        return _page("entities", args)

    @allow(*ADMINS)
    @blp.arguments(EntityIn)
    @blp.response(201, EntityOut)
    def post(self, values):
        """新增检查对象"""
        return _create("entities", values)


@blp.route("/entities/<int:entity_id>")
class EntityById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, EntityOut)
    def get(self, entity_id):
        """检查对象详情"""
        return registry.get(db_session(), actor(), "entities", entity_id)

    @allow(*ADMINS)
    @blp.arguments(EntityPatch)
    @blp.response(200, EntityOut)
    def patch(self, values, entity_id):
        """修改检查对象"""
        return _update("entities", entity_id, values)


@blp.route("/inspectors")
class Inspectors(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(InspectorQuery, location="query")
    @blp.response(200, cursor_page_of(InspectorOut, "InspectorCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """执法检查人员名录"""
        return _page("inspectors", args)

    @allow(*ADMINS)
    @blp.arguments(InspectorIn)
    @blp.response(201, InspectorOut)
    def post(self, values):
        """新增执法检查人员"""
        return _create("inspectors", values)


@blp.route("/inspectors/<int:inspector_id>")
class InspectorById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, InspectorOut)
    def get(self, inspector_id):
        """执法检查人员详情（不含身份证号）"""
        return registry.get(db_session(), actor(), "inspectors", inspector_id)

    @allow(*ADMINS)
    @blp.arguments(InspectorPatch)
    @blp.response(200, InspectorOut)
    def patch(self, values, inspector_id):
        """修改执法检查人员"""
        return _update("inspectors", inspector_id, values)


@blp.route("/matters")
class Matters(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(MatterQuery, location="query")
    @blp.response(200, cursor_page_of(MatterOut, "MatterCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """随机抽查事项清单"""
        return _page("matters", args)

    @allow(*ADMINS)
    @blp.arguments(MatterIn)
    @blp.response(201, MatterOut)
    def post(self, values):
        """新增抽查事项"""
        return _create("matters", values)


@blp.route("/matters/<int:matter_id>")
class MatterById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, MatterOut)
    def get(self, matter_id):
        """抽查事项详情"""
        return registry.get(db_session(), actor(), "matters", matter_id)

    @allow(*ADMINS)
    @blp.arguments(MatterPatch)
    @blp.response(200, MatterOut)
    def patch(self, values, matter_id):
        """修改抽查事项"""
        return _update("matters", matter_id, values)


@blp.route("/matters/<int:matter_id>/checklists")
class MatterChecklists(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(CursorQuery, location="query")
    @blp.response(200, cursor_page_of(ChecklistOut, "ChecklistCursorPage"), headers=LINK_HEADER)
    def get(self, args, matter_id):
        """抽查事项的检查表各版本（新版本在前）"""
        page = checklists.versions(
            db_session(), actor(), matter_id, cursor=args["cursor"], limit=limit_of(args)
        )
        return paged(page, page.items)

    @allow(*ADMINS)
    @blp.arguments(ChecklistIn)
    @blp.response(201, ChecklistOut)
    def post(self, values, matter_id):
        """发布检查表新版本（本事项所属部门的管理员）"""
        return checklists.create_version(
            db_session(),
            actor=actor(),
            matter_id=matter_id,
            items=values["entries"],
            note=values["note"],
            based_on=values["based_on"],
        )


@blp.route("/matters/<int:matter_id>/checklists/<int:version>")
class MatterChecklistVersion(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ChecklistOut)
    def get(self, matter_id, version):
        """检查表的一个版本"""
        return checklists.get_version(db_session(), actor(), matter_id, version)


@blp.route("/matters/<int:matter_id>/checklists/<int:version>/file")
class MatterChecklistFile(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, content_type=XLSX, description="检查表（XLSX，与导入的列相同）")
    @blp.doc(responses={"200": {"content": {XLSX: FILE}}})
    def get(self, matter_id, version):
        """检查表的一个版本导出为 Excel"""
        session, user = db_session(), actor()
        found = checklists.get_version(session, user, matter_id, version)
        return checklist_file(found, checklists.matter_of(session, user, matter_id))


CHECKLIST_UPLOAD = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "note": {"type": "string", "maxLength": NOTE_TEXT, "description": "修订说明"},
                    "based_on": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": INT_MAX,
                        "description": "修改所依据的版本号；已有更新的版本时返回 409",
                    },
                },
            }
        }
    },
}


def _checklist_form() -> dict:
    raw = request.form.get("based_on", "").strip()
    if raw and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= INT_MAX):
        raise Invalid("based_on 须为版本号", errors={"based_on": ["须为正整数"]})
    note = request.form.get("note")
    if note is not None and len(note) > NOTE_TEXT:
        raise Invalid("修订说明过长", errors={"note": [f"不能超过 {NOTE_TEXT} 个字"]})
    return {"note": note, "based_on": int(raw) if raw else None}


@blp.route("/matters/<int:matter_id>/checklists/file")
class MatterChecklistUpload(MethodView):
    @allow(*ADMINS)
    @blp.doc(requestBody=CHECKLIST_UPLOAD)
    @blp.response(201, ChecklistOut)
    def post(self, matter_id):
        """从 Excel 发布检查表新版本（multipart：file，列与导出的相同；可选 note、based_on）"""
        session, user = db_session(), actor()
        checklists.matter_of(session, user, matter_id)  # another department's: 404 first
        # Read after the access check (a form schema would answer 422 to anyone first).
        values = _checklist_form()
        upload = request.files.get("file")
        items = checklists.items_from_upload(
            upload.stream if upload else None, (upload.filename if upload else "") or ""
        )
        return checklists.create_version(
            session,
            actor=user,
            matter_id=matter_id,
            items=items,
            note=values["note"],
            based_on=values["based_on"],
        )


@blp.route("/matters/<int:matter_id>/checklists/current")
class MatterChecklistCurrent(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, ChecklistOut)
    def get(self, matter_id):
        """现行检查表（最新版本）"""
        return checklists.current_of(db_session(), actor(), matter_id)


@blp.route("/conflicts")
class Conflicts(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(ConflictQuery, location="query")
    @blp.response(200, cursor_page_of(ConflictOut, "ConflictCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """回避声明（不公开）"""
        return _page("conflicts", args)


def _import_out(job) -> dict:
    out = {name: getattr(job, name) for name in ImportOut().fields}
    out["mapping"] = job.column_mapping
    out["unknown_headers"] = job.unknown_header_list
    return out


@blp.route("/imports")
class Imports(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(ImportQuery, location="query")
    @blp.response(200, cursor_page_of(ImportOut, "ImportCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """导入批次，新的在前，直到第一批；可按名录（kind）和状态筛选，按游标分页"""
        page = imports.page_visible(
            db_session(),
            actor(),
            kind=args.get("kind"),
            status=args.get("status"),
            cursor=args["cursor"],
            limit=limit_of(args),
        )
        return paged(page, [_import_out(j) for j in page.items])

    @allow(*ADMINS)
    @blp.arguments(ImportIn, location="form")
    @blp.response(202, ImportOut)
    def post(self, values):
        """上传文件（multipart：file、kind）：后台校验后进入待确认状态，预览见 GET /imports/{id}"""
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("请上传文件（表单字段 file）", errors={"file": ["必填"]})
        user = actor()
        department_id = values["department_id"] if scope.is_sysadmin(user) else None
        job = imports.create(
            db_session(),
            actor=user,
            department_id=department_id or user.department_id,
            kind=values["kind"],
            filename=upload.filename or "",
            source=upload.stream,
            config=current_app.config,
            reading=imports.Reading(encoding=values["encoding"], sheet=values["sheet"]),
        )
        return _import_out(job)


@blp.route("/imports/<int:import_id>")
class ImportById(MethodView):
    @allow(*OVERSEERS)
    @blp.response(200, ImportOut)
    def get(self, import_id):
        """导入批次：状态、列对照、各项计数"""
        return _import_out(imports.get(db_session(), actor(), import_id))


@blp.route("/imports/<int:import_id>/confirm")
class ImportConfirm(MethodView):
    @allow(*ADMINS)
    @blp.response(202, ImportOut)
    def post(self, import_id):
        """确认导入：在后台以单个事务写入名录"""
        return _import_out(imports.confirm(db_session(), actor=actor(), import_id=import_id))


@blp.route("/imports/<int:import_id>/cancel")
class ImportCancel(MethodView):
    @allow(*ADMINS)
    @blp.response(200, ImportOut)
    def post(self, import_id):
        """取消导入（名录不变）"""
        return _import_out(imports.cancel(db_session(), actor=actor(), import_id=import_id))


@blp.route("/imports/<int:import_id>/rejects")
class ImportRejects(MethodView):
    @allow(*OVERSEERS)
    @blp.arguments(RejectQuery, location="query")
    @blp.response(200, cursor_page_of(RejectOut, "RejectCursorPage"), headers=LINK_HEADER)
    @blp.doc(
        responses={
            "200": {"content": {JSON: REJECTS, CSV: FILE, XLSX: FILE}, "headers": LINK_HEADER}
        }
    )
    def get(self, args, import_id):
        """被拒绝的行（行号、列、原因），按行号、按游标分页；format=csv 或 xlsx 时下载全部行的文件
        （不分页）"""
        job = imports.get(db_session(), actor(), import_id)
        if args["format"] != "json":
            return rejects_file(job, args["format"])
        page = imports.rejects_page(db_session(), job, cursor=args["cursor"], limit=limit_of(args))
        return paged(page, page.items)


@blp.route("/exports")
class Exports(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(ExportIn)
    @blp.response(202, TaskOut)
    def post(self, values):
        """导出名录（后台任务）；完成后从 /exports/{task_id}/file 下载"""
        task = exports.enqueue(
            db_session(),
            actor=actor(),
            kind=values["kind"],
            filters=values["filters"],
            fmt=values["format"],
        )
        return task_out(task)


@blp.route("/exports/<int:task_id>/file")
class ExportFile(MethodView):
    @signed_in
    @blp.response(200, content_type=XLSX, description="导出的文件（按导出时选的格式）")
    @blp.doc(responses={"200": {"content": {CSV: FILE, XLSX: FILE}}})
    def get(self, task_id):
        """下载导出的文件"""
        return export_file(task_id)
