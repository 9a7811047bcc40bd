"""Every role and status in one place, as StrEnums.

The database CHECK constraints (the models, `check_in`) and the marshmallow `OneOf` validators
are derived from these; code and templates compare against the members, never against string
literals (tests/test_states.py fails when a literal creeps back). A StrEnum member *is* its
string: `Role.SYSADMIN == "sysadmin"`, it is stored and serialised as "sysadmin".

Changing a value here needs a migration that changes the CHECK constraint to match
(tests/test_states.py compares the migrated database with these enums).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Role(enum.StrEnum):
    """角色: what a user may do."""

    SYSADMIN = "sysadmin"  # 系统管理员
    DEPT_ADMIN = "dept_admin"  # 部门管理员
    INSPECTOR = "inspector"  # 执法检查人员
    AUDITOR = "auditor"  # 纪检/审计: read-only across departments

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SYSADMIN: "系统管理员",
    Role.DEPT_ADMIN: "部门管理员",
    Role.INSPECTOR: "执法检查人员",
    Role.AUDITOR: "纪检/审计",
}
# Roles not bound to one department (the users table's CHECK requires a department otherwise).
CROSS_DEPARTMENT_ROLES = (Role.SYSADMIN, Role.AUDITOR)


class TokenScope(enum.StrEnum):
    """API 令牌权限: read-only or read-write."""

    READ = "read"
    WRITE = "write"


class PlanStatus(enum.StrEnum):
    """抽查任务状态: draft → committed → drawn (one-off) or → active (recurring) → closed."""

    DRAFT = "draft"
    COMMITTED = "committed"
    DRAWN = "drawn"
    ACTIVE = "active"
    CLOSED = "closed"


class ParticipationStatus(enum.StrEnum):
    """参加确认: a department named in another department's joint plan takes part or not
    (services/plans/participation.py)."""

    PENDING = "pending"  # 待确认
    ACCEPTED = "accepted"  # 已确认参加
    DECLINED = "declined"  # 已拒绝


class BatchStatus(enum.StrEnum):
    """周期批次状态: a batch row exists once it was drawn or its attempt failed."""

    DRAWN = "drawn"
    FAILED = "failed"


class TaskStage(enum.StrEnum):
    """检查任务阶段 (the 工作台): the last step of a draw's work that is complete."""

    COMMITTED = "committed"
    DRAWN = "drawn"
    FIELDWORK = "fieldwork"
    RESULTS_ENTERED = "results_entered"
    PUBLISHED = "published"
    CLOSED = "closed"


class DeadlineState(enum.StrEnum):
    """期限状态: done, not yet due, due soon, overdue."""

    DONE = "done"
    OPEN = "open"
    SOON = "soon"
    OVERDUE = "overdue"


class JobStatus(enum.StrEnum):
    """后台任务状态 (the tasks table the worker runs)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecordStatus(enum.StrEnum):
    """检查结果状态: 未录入 → 待审核 → 退回 / 不通过 → 已公示."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REJECTED = "rejected"
    PUBLISHED = "published"


class ListingStatus(enum.StrEnum):
    """经营异常名录状态."""

    CANDIDATE = "candidate"
    LISTED = "listed"
    DISMISSED = "dismissed"
    REMOVAL_REQUESTED = "removal_requested"
    REMOVED = "removed"


class ImportStatus(enum.StrEnum):
    """导入批次状态."""

    VALIDATING = "validating"
    READY = "ready"
    APPLYING = "applying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class InspectorStatus(enum.StrEnum):
    """执法人员状态: in service, on leave, left."""

    ACTIVE = "active"
    LEAVE = "leave"
    LEFT = "left"


class EntityStatus(enum.StrEnum):
    """登记状态 of a market entity, as the registration system writes it."""

    IN_BUSINESS = "存续"
    DEREGISTERED = "注销"
    LICENCE_REVOKED = "吊销"
    REGISTRATION_REVOKED = "撤销"
    MOVED_OUT = "迁出"


class OutboxStatus(enum.StrEnum):
    """发件箱状态."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class CheckMethod(enum.StrEnum):
    """检查方法 of a checklist item (检查表): how the inspector finds out."""

    DOCUMENTS = "documents"  # 查阅资料
    ON_SITE = "on_site"  # 现场检查
    INQUIRY = "inquiry"  # 询问
    ONLINE = "online"  # 网络核查
    SAMPLING = "sampling"  # 抽样检验


CHECK_METHOD_LABELS = {
    CheckMethod.DOCUMENTS: "查阅资料",
    CheckMethod.ON_SITE: "现场检查",
    CheckMethod.INQUIRY: "询问",
    CheckMethod.ONLINE: "网络核查",
    CheckMethod.SAMPLING: "抽样检验",
}


# Every enum of this module (the templates get them all by name).
ENUMS = tuple(
    value
    for value in list(globals().values())
    if isinstance(value, type) and issubclass(value, enum.StrEnum) and value is not enum.StrEnum
)


def check_in(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK constraint that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


# The enums whose values a database CHECK constraint lists: (table, column) → enum.
CHECKED = {
    ("users", "role"): Role,
    ("api_tokens", "scope"): TokenScope,
    ("plans", "status"): PlanStatus,
    ("plan_batches", "status"): BatchStatus,
    ("plan_participations", "status"): ParticipationStatus,
    ("tasks", "status"): JobStatus,
    ("inspection_records", "status"): RecordStatus,
    ("abnormal_listings", "status"): ListingStatus,
    ("import_jobs", "status"): ImportStatus,
    ("inspectors", "status"): InspectorStatus,
    ("entities", "status"): EntityStatus,
    ("outbox_messages", "status"): OutboxStatus,
    ("checklist_items", "method"): CheckMethod,
}
