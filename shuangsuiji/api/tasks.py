"""Background tasks: progress and results."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..access import signed_in
from ..edge import actor, db_session
from ..schemas.common import TaskOut, attributes
from ..services.platform import tasks

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="后台任务")


def task_out(task) -> dict:
    return attributes(task, TaskOut(), result=tasks.result_of(task))


@blp.route("/<int:task_id>")
class TaskById(MethodView):
    @signed_in
    @blp.response(200, TaskOut)
    def get(self, task_id):
        """任务状态与进度"""
        return task_out(tasks.get_visible(db_session(), actor(), task_id))
