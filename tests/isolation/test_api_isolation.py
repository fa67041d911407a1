"""Every API route, enumerated from the OpenAPI schema, keeps organization A's data from B.

Organization A gets one of everything, each carrying the marker ``alpha-secret``. Charlie (owner
of B) then calls every operation: on routes with an id he gets a 404 in the error format, and no
list or other response ever contains the marker. A route without a case (``CASES`` of
``tests/isolation/cases*.py``) fails the test, so no endpoint ships without saying how it is
isolated.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import tests.isolation
from tests.conftest import Tenant
from tests.isolation.cases import MARKER, SAMPLE_BODIES, Case

pytestmark = pytest.mark.django_db


def all_cases() -> dict[str, Case]:
    merged: dict[str, Case] = {}
    for module in pkgutil.iter_modules(tests.isolation.__path__):
        if module.name == "cases" or module.name.startswith("cases_"):
            merged |= importlib.import_module(f"tests.isolation.{module.name}").CASES
    return merged


COVERAGE = all_cases()


def schema_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_api_route_has_isolation_coverage() -> None:
    uncovered = sorted({path for path, _ in schema_operations() if path not in COVERAGE})
    assert uncovered == [], f"add these routes to COVERAGE in {__name__}: {uncovered}"


def test_another_organizations_user_gets_404_and_never_sees_the_data(
    org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        ids = {path: case.make(org_a) for path, case in COVERAGE.items() if case.make}

    charlie = APIClient()
    charlie.force_login(org_b.owner)
    for path, method in schema_operations():
        case = COVERAGE[path]
        url = path
        for name, value in {**case.params, "id": ids.get(path)}.items():
            url = url.replace("{" + name + "}", str(value))
        body = case.body if case.body is not None else SAMPLE_BODIES.get(method)
        call = getattr(charlie, method)
        response = call(url, body, format="json") if body else call(url)
        text = response.content.decode()
        assert MARKER not in text, f"{method.upper()} {url} leaked organization A's data"
        if case.make is not None or (case.not_found_without_id and method != "get"):
            assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
            assert response.json()["statusCode"] == 404

    with org_a.scope():
        from crm.models import Account, ApiToken, Contact, Deal, Task

        assert Contact.objects.filter(first_name=MARKER).count() == 1
        assert Account.objects.filter(name=MARKER).count() == 1
        assert Deal.objects.filter(name=MARKER).count() == 1
        assert Task.objects.filter(title=MARKER).count() == 1
        assert ApiToken.objects.get(description=MARKER).revoked_at is None
        from integrations.connections.models import Connection

        assert Connection.objects.get(account_id=MARKER).status == "connected"
