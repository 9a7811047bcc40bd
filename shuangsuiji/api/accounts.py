"""The caller, departments, users and API tokens."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..access import ADMINS, ALL_STAFF, allow, signed_in
from ..db.states import Role
from ..edge import actor, db_session
from ..schemas.accounts import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    MeOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserCreated,
    UserIn,
    UserOut,
    UserPatch,
    UserQuery,
)
from ..schemas.common import LINK_HEADER, CursorQuery, attributes, cursor_page_of
from ..services.accounts import departments, tokens, users
from .paging import limit_of, paged

blp = Blueprint("accounts", __name__, url_prefix="", description="部门、用户与 API 令牌")


@blp.route("/me")
class Me(MethodView):
    @signed_in
    @blp.response(200, MeOut)
    def get(self):
        """当前调用者"""
        user = actor()
        return {"user": user, "department": user.department, "via": current_user.via}


@blp.route("/departments")
class Departments(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, DepartmentOut(many=True))
    def get(self):
        """可见的部门列表"""
        return departments.list_visible(db_session(), actor())

    @allow(Role.SYSADMIN)
    @blp.arguments(DepartmentIn)
    @blp.response(201, DepartmentOut)
    def post(self, values):
        """新建部门（系统管理员）"""
        return departments.create(db_session(), actor=actor(), values=values)


@blp.route("/departments/<int:department_id>")
class DepartmentById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, DepartmentOut)
    def get(self, department_id):
        """部门详情"""
        return departments.get(db_session(), actor(), department_id)

    @allow(Role.SYSADMIN)
    @blp.arguments(DepartmentPatch)
    @blp.response(200, DepartmentOut)
    def patch(self, values, department_id):
        """修改部门（系统管理员）"""
        return departments.update(
            db_session(), actor=actor(), department_id=department_id, values=values
        )


@blp.route("/users")
class Users(MethodView):
    @allow(*ALL_STAFF)
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, cursor_page_of(UserOut, "UserCursorPage"), headers=LINK_HEADER)
    def get(self, query):
        """可见的用户列表，按用户名排列，按游标分页（下一页见 next 或 Link 头）"""
        page = users.page_visible(
            db_session(),
            actor(),
            department_id=query.get("department_id"),
            cursor=query["cursor"],
            limit=limit_of(query),
        )
        return paged(page, page.items)

    @allow(*ADMINS)
    @blp.arguments(UserIn)
    @blp.response(201, UserCreated)
    def post(self, values):
        """新建用户；返回一次性初始密码（首次登录须修改）"""
        user, password = users.create(
            db_session(),
            actor=actor(),
            values=values,
            password=None,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
        return attributes(user, UserOut(), initial_password=password)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @allow(*ALL_STAFF)
    @blp.response(200, UserOut)
    def get(self, user_id):
        """用户详情"""
        return users.get(db_session(), actor(), user_id)

    @allow(*ADMINS)
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    def patch(self, values, user_id):
        """修改用户（含停用）"""
        return users.update(db_session(), actor=actor(), user_id=user_id, values=values)


@blp.route("/tokens")
class Tokens(MethodView):
    @signed_in
    @blp.arguments(CursorQuery, location="query")
    @blp.response(200, cursor_page_of(TokenOut, "TokenCursorPage"), headers=LINK_HEADER)
    def get(self, args):
        """我的 API 令牌（含已吊销、已过期的），新的在前，按游标分页"""
        page = tokens.page_own(db_session(), actor(), cursor=args["cursor"], limit=limit_of(args))
        return paged(page, page.items)

    @signed_in
    @blp.arguments(TokenIn)
    @blp.response(201, TokenCreated)
    def post(self, values):
        """签发 API 令牌；令牌全文仅此一次返回"""
        token, secret = tokens.issue(
            db_session(),
            actor=actor(),
            max_days=current_app.config["API_TOKEN_MAX_DAYS"],
            **values,
        )
        return attributes(token, TokenOut(), token=secret)


@blp.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @signed_in
    @blp.response(200, TokenOut)
    def delete(self, token_id):
        """吊销 API 令牌"""
        return tokens.revoke(db_session(), actor=actor(), token_id=token_id)
