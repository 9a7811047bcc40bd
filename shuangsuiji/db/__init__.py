"""Database layer: typed SQLAlchemy 2 models, engine set-up and the transaction helper."""

from .accounts import (
    LEVEL_LABELS,
    ROLE_LABELS,
    ApiToken,
    Department,
    DepartmentKind,
    DepartmentLevel,
    Role,
    User,
    UserSession,
)
from .audit import AuditCheckpoint, AuditEntry
from .base import Base, utcnow
from .engine import Database, make_engine
from .registry import (
    ENTITY_STATUSES,
    INSPECTOR_STATUSES,
    RISK_CLASSES,
    ConflictDeclaration,
    Entity,
    ImportJob,
    ImportReject,
    Inspector,
    Matter,
    stage_conflicts,
    stage_entities,
    stage_inspectors,
    stage_matters,
)
from .tasks import Task

__all__ = [
    "ENTITY_STATUSES",
    "INSPECTOR_STATUSES",
    "RISK_CLASSES",
    "ConflictDeclaration",
    "Entity",
    "ImportJob",
    "ImportReject",
    "Inspector",
    "Matter",
    "stage_conflicts",
    "stage_entities",
    "stage_inspectors",
    "stage_matters",
    "LEVEL_LABELS",
    "ROLE_LABELS",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEntry",
    "Base",
    "Database",
    "Department",
    "DepartmentKind",
    "DepartmentLevel",
    "Role",
    "Task",
    "User",
    "UserSession",
    "make_engine",
    "utcnow",
]
