"""Errors that services raise; the web and API edges map them to a response in one place."""

from __future__ import annotations


class AppError(Exception):
    """A failure the user can understand; `message` is shown to them (zh-CN)."""

    status = 400

    def __init__(self, message: str, *, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(AppError):
    status = 422


class TooLarge(Invalid):
    """An upload over its limit (413); the message names the limit."""

    status = 413


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class TooManyRequests(AppError):
    status = 429


class Unavailable(AppError):
    """A service this request depends on cannot be reached (503)."""

    status = 503
