"""A bounded schemathesis run over the whole API, from its own OpenAPI document, through the
app in-process (WSGI, no network): every operation, anonymous and with a system
administrator's write token, a fixed number of generated requests each, derandomised (the same
requests every run). It must end with no server error (5xx) and no response that breaks the
documented schema or content type.

Marker `fuzz`: part of scripts/test; `-m "not fuzz"` leaves it out of a quick local run.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from shuangsuiji.services.accounts import tokens

from .. import results_world

pytestmark = pytest.mark.fuzz

EXAMPLES = 20  # generated requests per operation and caller
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations that would end the run's own access: revoking its token, deactivating its user.
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}"), ("PATCH", "/api/v1/users/{user_id}")}


@pytest.fixture
def callers(session, world):
    results_world.drawn(session, world)  # a drawn plan, its registry, a result to enter
    _, secret = tokens.issue(
        session, actor=world["sysadmin"], name="fuzz", scope="write", days=1, max_days=30
    )
    session.commit()
    return {"anonymous": {}, "sysadmin": {"Authorization": f"Bearer {secret}"}}


def _run(operation, caller: str, headers: dict, failures: list, statuses: Counter) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=headers)
        statuses[caller, response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # every operation runs; the failures are listed together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])

    run()


def test_the_api_survives_schemathesis(app, callers):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    statuses: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        for caller, headers in callers.items():
            _run(operation, caller, headers, failures, statuses)
    print("STATUSES", sorted(statuses.items()), len(failures))
    assert not any(code >= 500 for _, code in statuses), statuses
    assert failures == []
    assert sum(statuses.values()) > len(operations) * EXAMPLES
