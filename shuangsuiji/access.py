"""Who may call each route. Every view declares it; the app refuses to start otherwise.

`@public` marks a page meant for everyone (on purpose); `@allow(...)` names roles;
`@signed_in` admits any signed-in user. For MethodViews, decorate each method. Department
scoping (a user sees only their department's objects) is enforced in the services; this layer
only decides whether the caller may reach the route at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .db.states import Role

ATTR = "__access_rule__"


@dataclass(frozen=True)
class Rule:
    public: bool = False
    roles: frozenset[str] = frozenset()  # empty and not public = any signed-in user

    def admits(self, role: str | None) -> bool:
        if self.public:
            return True
        if role is None:
            return False
        return not self.roles or role in self.roles


def _mark(rule: Rule):
    def decorate(target):
        setattr(target, ATTR, rule)
        return target

    return decorate


def public(target):
    return _mark(Rule(public=True))(target)


def signed_in(target):
    return _mark(Rule())(target)


def allow(*roles: str):
    return _mark(Rule(roles=frozenset(roles)))


ALL_STAFF = tuple(Role)
ADMINS = (Role.SYSADMIN, Role.DEPT_ADMIN)
OVERSEERS = (*ADMINS, Role.AUDITOR)  # everyone but the inspectors


def rule_for(view_func, method: str) -> Rule | None:
    """The rule of a view for an HTTP method; None when the view declares none."""
    view_class = getattr(view_func, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if method == "HEAD" and handler is None:
            handler = getattr(view_class, "get", None)
        rule = getattr(handler, ATTR, None) if handler is not None else None
        return rule or getattr(view_class, ATTR, None)
    return getattr(view_func, ATTR, None)


def mark_endpoint_public(app, endpoint: str) -> None:
    """For views a library registers (static files, the OpenAPI document)."""
    original = app.view_functions[endpoint]

    @functools.wraps(original)
    def view(*args, **kwargs):
        return original(*args, **kwargs)

    app.view_functions[endpoint] = public(view)


def missing_rules(app) -> list[str]:
    """Every (rule, method) whose view declares no access rule."""
    missing = []
    for url_rule in app.url_map.iter_rules():
        view = app.view_functions[url_rule.endpoint]
        for method in sorted((url_rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if rule_for(view, method) is None:
                missing.append(f"{method} {url_rule.rule} ({url_rule.endpoint})")
    return missing
