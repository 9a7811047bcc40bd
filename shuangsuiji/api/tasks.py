"""Background tasks: progress and results."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import signed_in
from ..db.states import JobStatus
from ..edge import actor, db_session
from ..schemas.common import TaskOut, attributes
from ..services.platform import tasks

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="后台任务")


def task_out(task) -> dict:
    """A task as the API shows it: its result without anything about the server's files (an
    export stored before results lost their "path" still has one), and a download URL."""
    result = tasks.result_of(task)
    if isinstance(result, dict):
        result.pop("path", None)
    download_url = None
    if task.kind in ("export.list", "export.sheet") and task.status == JobStatus.DONE:
        download_url = url_for("registries.ExportFile", task_id=task.id)
    return attributes(task, TaskOut(), result=result, download_url=download_url)


@blp.route("/<int:task_id>")
class TaskById(MethodView):
    @signed_in
    @blp.response(200, TaskOut)
    def get(self, task_id):
        """任务状态与进度"""
        return task_out(tasks.get_visible(db_session(), actor(), task_id))
