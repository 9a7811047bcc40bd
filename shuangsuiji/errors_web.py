"""One place that turns errors into responses: JSON under /api/, a Chinese page elsewhere.

The JSON shape is flask-smorest's: {"code", "status", "message", "errors"}. A 500 never carries
exception text or a stack trace.
"""

from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .edge import is_api_request
from .errors import AppError
from .sizes import human_bytes

log = logging.getLogger(__name__)

MESSAGES = {
    400: "请求有误",
    401: "未登录或登录已失效",
    403: "无权访问",
    404: "页面或对象不存在",
    405: "不支持该请求方法",
    413: "上传的文件过大",
    422: "提交的数据有误",
    429: "尝试次数过多，请稍后再试",
    500: "服务器内部错误，请稍后再试",
    503: "服务暂时不可用，请稍后再试",
}
STATUS_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def render_error(status: int, message: str, errors: dict | None = None):
    if is_api_request():
        body = {"code": status, "status": STATUS_NAMES.get(status, "Error"), "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, errors=errors), status


def handle_app_error(exc: AppError):
    return render_error(exc.status, exc.message, exc.errors)


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    errors = None
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and "messages" in data:  # webargs validation (flask-smorest)
        errors = data["messages"]
    if isinstance(exc, CSRFError):
        return render_error(400, "页面已过期或表单校验失败，请刷新页面后重试")
    if status == 413 and request.max_content_length:
        return render_error(413, f"请求过大：不能超过 {human_bytes(request.max_content_length)}")
    response, status = render_error(status, MESSAGES.get(status, exc.name), errors)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response = make_response(response, status)
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response, status


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    log.exception("unhandled error")
    return render_error(500, MESSAGES[500])


def register(app) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
