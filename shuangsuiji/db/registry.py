"""一单两库: the matter list, the entity registry, the inspector pool, conflict declarations,
and the import batches that fill them.

Each registry row belongs to a department. Natural keys: USCC per department for entities,
matter code per department, 执法证号 across the deployment (a certificate is issued once), and
(inspector, entity) for conflict declarations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from .accounts import Department
from .base import Base, utcnow
from .documents import decode
from .states import CheckMethod, EntityStatus, ImportStatus, InspectorStatus, check_in

ENTITY_STATUSES = tuple(EntityStatus)
INSPECTOR_STATUSES = tuple(InspectorStatus)
RISK_CLASSES = ("A", "B", "C", "D")


class Matter(Base):
    """随机抽查事项: an item of the department's public list of what may be inspected."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    sub_item: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    target_scope: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    ratio: Mapped[str | None] = mapped_column(String(100))
    frequency: Mapped[str | None] = mapped_column(String(100))
    methods: Mapped[str | None] = mapped_column(String(200))
    inspector_requirements: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(4), default="一般")
    effective_from: Mapped[dt.date | None] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    __table_args__ = (
        UniqueConstraint("department_id", "code"),
        CheckConstraint("category IN ('一般', '重点')", name="category"),
    )


class MatterChecklist(Base):
    """检查表: one version of a matter's checklist. A new version supersedes the last; the old
    ones are kept as they were (the table and its items are append-only, see 0018), so that a
    plan or a record that used a version can always show it."""

    __tablename__ = "matter_checklists"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    version: Mapped[int] = mapped_column(Integer, autoincrement=False)
    note: Mapped[str | None] = mapped_column(Text)  # 修订说明
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("matter_id", "version"),
        CheckConstraint("version >= 1", name="version"),
    )


class ChecklistItem(Base):
    """检查项: one line of a checklist version. `codes` are the result codes a 不符合 of this
    item proposes, comma-separated in the result list's order (domain/result_codes.py)."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("matter_checklists.id"))
    position: Mapped[int] = mapped_column(Integer, autoincrement=False)
    content: Mapped[str] = mapped_column(String(500))  # 检查内容
    method: Mapped[str] = mapped_column(String(16))  # 检查方法 (CheckMethod)
    basis: Mapped[str] = mapped_column(String(500))  # 检查依据
    criterion: Mapped[str | None] = mapped_column(Text)  # 判定标准
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    codes: Mapped[str] = mapped_column(String(100))  # 不符合时的检查结果代码

    __table_args__ = (
        UniqueConstraint("checklist_id", "position"),
        CheckConstraint(check_in("method", CheckMethod), name="method"),
    )

    @property
    def code_list(self) -> list[str]:
        return [c for c in self.codes.split(",") if c]


CHECKLIST_APPEND_ONLY = ("matter_checklists", "checklist_items")


# The indexed expression (the "C" collation makes the keys compare bytewise, which builds the
# index faster). `name_has_bigrams` writes it the same so that PostgreSQL uses the index.
NAME_BIGRAMS = text('bigrams(name COLLATE "C")')


def bigrams(term: str) -> list[str]:
    """The distinct 2-character substrings of `term`, in order, as SQL's bigrams() gives them."""
    return list(dict.fromkeys(term[i : i + 2] for i in range(len(term) - 1)))


class name_has_bigrams(FunctionElement):  # noqa: N801 (an SQL function's name)
    """`name_has_bigrams(column, term)`: the column holds every bigram of `term`.

    Implied by `column LIKE '%term%'` and added beside it so that PostgreSQL can answer from
    ix_entities_name_bigrams; elsewhere (SQLite) there is no such index and it is simply true.
    """

    type = Boolean()
    inherit_cache = True
    name = "name_has_bigrams"

    def __init__(self, column, term: str):
        super().__init__(column, literal(bigrams(term), ARRAY(Text)))


@compiles(name_has_bigrams)
def _name_has_bigrams(element, compiler, **kw) -> str:
    return "1 = 1"


@compiles(name_has_bigrams, "postgresql")
def _name_has_bigrams_postgresql(element, compiler, **kw) -> str:
    column, grams = (compiler.process(c, **kw) for c in element.clauses)
    return f'bigrams({column} COLLATE "C") @> {grams}'


class Entity(Base):
    """检查对象: a market entity on the department's registry, keyed by its USCC."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str | None] = mapped_column(String(50))
    industry_code: Mapped[str | None] = mapped_column(String(5))
    region_code: Mapped[str | None] = mapped_column(String(6))
    registration_authority: Mapped[str | None] = mapped_column(String(100))
    supervising_unit: Mapped[str | None] = mapped_column(String(100))
    grid: Mapped[str | None] = mapped_column(String(100))
    registered_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(4), default=EntityStatus.IN_BUSINESS)
    address: Mapped[str | None] = mapped_column(String(300))
    tags: Mapped[str | None] = mapped_column(String(300))
    abnormal_listed: Mapped[bool] = mapped_column(default=False)
    risk_class: Mapped[str | None] = mapped_column(String(1))
    risk_class_month: Mapped[str | None] = mapped_column(String(7))
    last_checked_on: Mapped[dt.date | None] = mapped_column(Date)
    check_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    __table_args__ = (
        UniqueConstraint("department_id", "uscc"),
        CheckConstraint(check_in("status", EntityStatus), name="status"),
        CheckConstraint("risk_class IS NULL OR risk_class IN ('A', 'B', 'C', 'D')", name="risk"),
        Index("ix_entities_department_id_region_code", "department_id", "region_code"),
        Index("ix_entities_department_id_industry_code", "department_id", "industry_code"),
        Index("ix_entities_department_id_risk_class", "department_id", "risk_class"),
        # Few indexes on purpose: each costs every imported row. Name search ("contains") on
        # millions of rows: on PostgreSQL a GIN index on the name's 2-character substrings
        # (the function bigrams(), migration 0004), which serves terms of 2 characters or more.
        Index("ix_entities_name_bigrams", NAME_BIGRAMS, postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )


class Inspector(Base):
    """执法检查人员: a member of the inspector pool, keyed by their 执法证号."""

    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[str] = mapped_column(String(64))
    cert_no: Mapped[str] = mapped_column(String(64), unique=True)
    cert_issuer: Mapped[str | None] = mapped_column(String(100))
    cert_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(String(6))
    grid: Mapped[str | None] = mapped_column(String(100))
    qualifications: Mapped[str | None] = mapped_column(String(300))
    specialties: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(8), default=InspectorStatus.ACTIVE)
    is_expert: Mapped[bool] = mapped_column(default=False)
    id_number: Mapped[str | None] = mapped_column(String(18))
    # Where assignment notices and reminders go (never public, like 身份证号).
    mobile: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(254))
    # The console account of this inspector, for their own task list (optional).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship()

    __table_args__ = (
        CheckConstraint(check_in("status", InspectorStatus), name="status"),
        Index("ix_inspectors_department_id_name", "department_id", "name"),
    )


class ConflictDeclaration(Base):
    """回避声明: an inspector must never inspect this entity (行政处罚法 art. 43)."""

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    reason: Mapped[str] = mapped_column(String(300))
    declared_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    inspector: Mapped[Inspector] = relationship()
    entity: Mapped[Entity] = relationship()

    __table_args__ = (
        UniqueConstraint("inspector_id", "entity_id"),
        Index("ix_conflicts_department_id", "department_id"),
        Index("ix_conflicts_entity_id", "entity_id"),
    )


class ImportJob(Base):
    """导入批次: one uploaded file, its validation, preview, application and report."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    stored_path: Mapped[str] = mapped_column(String(500))
    encoding: Mapped[str | None] = mapped_column(String(20))
    sheet: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.VALIDATING)
    detected_format: Mapped[str | None] = mapped_column(String(8))
    detected_encoding: Mapped[str | None] = mapped_column(String(20))
    mapping: Mapped[str | None] = mapped_column(Text)
    unknown_headers: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[str | None] = mapped_column(Text)  # the file's header row (JSON)
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_valid: Mapped[int] = mapped_column(default=0)
    blank_rows: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    validated_at: Mapped[dt.datetime | None]
    applied_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(
            "kind IN ('entities', 'inspectors', 'matters', 'conflicts', 'risk_classes')",
            name="kind",
        ),
        CheckConstraint(check_in("status", ImportStatus), name="status"),
        Index("ix_import_jobs_department_id", "department_id"),
    )

    @property
    def column_mapping(self) -> list[tuple[str, str]] | None:
        """(header in the file, field) per mapped column; None before the file was read."""
        pairs = decode(self.mapping)
        return None if pairs is None else [(header, name) for header, name in pairs]

    @property
    def unknown_header_list(self) -> list[str] | None:
        """The file's headers that map to no field; None before the file was read."""
        return decode(self.unknown_headers)

    @property
    def header_row(self) -> list[str] | None:
        """The file's header row as read, every column in its place; None before the file
        was read, and for a batch checked before migration 0015."""
        return decode(self.headers)


class ImportReject(Base):
    """导入被拒行: a row that was not stored, with where and why."""

    __tablename__ = "import_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"))
    row_no: Mapped[int]
    column: Mapped[str] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(300))
    # The whole row as read (JSON list of the cells' text), on the first reject of the row:
    # the rejected-rows file gives it back beside the reasons, to be fixed and imported again.
    cells: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_import_rejects_import_id_row_no", "import_id", "row_no"),)

    @property
    def row_cells(self) -> list[str] | None:
        return decode(self.cells)


def _stage_table(name: str, model, extra: tuple[Column, ...] = ()) -> Table:
    """A staging table holding an import's valid rows before they are applied in one go.

    It has the model's importable columns, all nullable, plus the import and the row number.
    """
    skip = {
        "id",
        "department_id",
        "created_at",
        "updated_at",
        "last_checked_on",
        "check_count",
        "user_id",
    }
    columns = [
        Column(c.name, c.type, nullable=True) for c in model.__table__.columns if c.name not in skip
    ]
    return Table(
        name,
        Base.metadata,
        Column("import_id", Integer, nullable=False),
        Column("row_no", Integer, nullable=False),
        *columns,
        *extra,
        Index(f"ix_{name}_import_id", "import_id"),
    )


stage_entities = _stage_table("stage_entities", Entity)
stage_inspectors = _stage_table("stage_inspectors", Inspector)
stage_matters = _stage_table("stage_matters", Matter)
stage_conflicts = _stage_table(
    "stage_conflicts",
    ConflictDeclaration,
    (Column("cert_no", String(64)), Column("uscc", String(18))),
)
# The monthly credit-risk classification file: it updates existing entities only.
stage_risk_classes = Table(
    "stage_risk_classes",
    Base.metadata,
    Column("import_id", Integer, nullable=False),
    Column("row_no", Integer, nullable=False),
    Column("uscc", String(18)),
    Column("risk_class", String(1)),
    Column("risk_class_month", String(7)),
    Index("ix_stage_risk_classes_import_id", "import_id"),
)
