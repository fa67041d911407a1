"""API conventions: tokens, scopes, errors, paging, throttling, schema."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient

from crm.models import ApiToken, Contact
from crm.tenancy import all_tenants
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_requests_without_credentials_get_401_in_the_error_format(db: None) -> None:
    response = APIClient().get("/api/v1/crm/contacts")
    assert response.status_code == 401
    assert response.json() == {
        "error": "Authentication credentials were not provided.",
        "code": "AuthenticationRequired",
        "statusCode": 401,
        "details": {},
    }


def test_an_unknown_token_is_refused(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer lia_not-a-real-token")
    response = client.get("/api/v1/crm/contacts")
    assert response.status_code == 401
    assert response.json()["code"] == "AuthenticationRequired"


def test_tokens_are_stored_only_as_a_hash_and_record_last_use(org_a: Tenant) -> None:
    client = APIClient()
    client.force_authenticate(user=None)
    session = APIClient()
    session.force_login(org_a.owner)
    created = session.post(
        "/api/v1/tokens", {"description": "CI", "scopes": ["read"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    secret = created.json()["token"]
    with all_tenants():
        stored = ApiToken.objects.unscoped().get(pk=created.json()["id"])
    assert secret not in {stored.key_hash, stored.prefix} and len(stored.key_hash) == 64
    assert stored.last_used_at is None
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/crm/contacts").status_code == 200
    with all_tenants():
        stored.refresh_from_db()
    assert stored.last_used_at is not None
    listing = session.get("/api/v1/tokens").json()
    assert "token" not in listing["results"][0]


def test_a_revoked_token_stops_working(org_a: Tenant) -> None:
    session = APIClient()
    session.force_login(org_a.owner)
    created = session.post(
        "/api/v1/tokens", {"description": "temp", "scopes": ["api"]}, format="json"
    ).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['token']}")
    assert client.get("/api/v1/crm/contacts").status_code == 200
    assert session.delete(f"/api/v1/tokens/{created['id']}").json()["revoked_at"] is not None
    assert client.get("/api/v1/crm/contacts").status_code == 401


def test_a_read_token_cannot_write(org_a: Tenant) -> None:
    client = token_client(org_a, scopes=("read",))
    assert client.get("/api/v1/crm/contacts").status_code == 200
    response = client.post("/api/v1/crm/contacts", {"first_name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"


def test_an_api_token_cannot_mint_tokens_but_a_star_token_can(org_a: Tenant) -> None:
    body = {"description": "child", "scopes": ["read"]}
    assert token_client(org_a).post("/api/v1/tokens", body, format="json").status_code == 403
    assert (
        token_client(org_a, scopes=("*",)).post("/api/v1/tokens", body, format="json").status_code
        == 201
    )


def test_a_token_acts_only_in_its_own_organization(
    org_a: Tenant, org_b: Tenant, api_b: APIClient
) -> None:
    with org_a.scope():
        ContactFactory(first_name="Secret")
    assert api_b.get("/api/v1/crm/contacts").json()["total"] == 0


def test_malformed_json_is_a_400_and_stores_nothing(api_a: APIClient, in_org_a: Tenant) -> None:
    response = api_a.generic(
        "POST", "/api/v1/crm/contacts", '{"first_name": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert Contact.objects.count() == 0


def test_unknown_fields_are_refused_by_name(api_a: APIClient, in_org_a: Tenant) -> None:
    response = api_a.post(
        "/api/v1/crm/contacts", {"first_name": "X", "nickname": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"nickname": ["Unknown field."]}
    assert Contact.objects.count() == 0


def test_an_invalid_email_is_refused(api_a: APIClient, in_org_a: Tenant) -> None:
    response = api_a.post(
        "/api/v1/crm/contacts", {"first_name": "X", "emails": ["not-an-address"]}, format="json"
    )
    assert response.status_code == 400
    assert "emails" in response.json()["details"]
    assert Contact.objects.count() == 0


def test_a_foreign_organizations_id_in_a_body_is_refused_and_changes_nothing(
    api_a: APIClient, org_b: Tenant, in_org_a: Tenant
) -> None:
    with org_b.scope():
        foreign_account = ContactFactory.__dict__  # placeholder to keep linters calm
        from tests.factories import AccountFactory

        foreign_account = AccountFactory()
    mine = ContactFactory(first_name="Mine")
    response = api_a.patch(
        f"/api/v1/crm/contacts/{mine.pk}", {"account": foreign_account.pk}, format="json"
    )
    assert response.status_code == 400
    assert "account" in response.json()["details"]
    mine.refresh_from_db()
    assert mine.account_id is None


def test_unknown_api_paths_answer_404_in_the_error_format(api_a: APIClient) -> None:
    response = api_a.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["code"] == "NotFound"


def test_a_missing_object_names_its_kind(api_a: APIClient) -> None:
    response = api_a.get("/api/v1/crm/contacts/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "ContactNotFound"


def test_lists_are_paged_with_page_and_limit(api_a: APIClient, in_org_a: Tenant) -> None:
    for i in range(7):
        ContactFactory(last_name=f"N{i}")
    body = api_a.get("/api/v1/crm/contacts", {"page": 2, "limit": 3}).json()
    assert (body["total"], body["page"], body["pages"]) == (7, 2, 3)
    assert len(body["results"]) == 3
    bad = api_a.get("/api/v1/crm/contacts", {"page": "zero"})
    assert bad.status_code == 400 and bad.json()["details"] == {"page": "zero"}


def test_throttled_requests_get_429_with_retry_after(api_a: APIClient, settings: object) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "token": "3/min"}
    try:
        statuses = [api_a.get("/api/v1/crm/contacts").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = api_a.get("/api/v1/crm/contacts")
        assert response.json()["code"] == "RateLimitExceeded"
        assert int(response["Retry-After"]) >= 1
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()


def test_openapi_schema_validates_without_warnings(tmp_path: object) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path) + "/schema.yaml"
    )


def test_schema_and_docs_are_served(db: None) -> None:
    client = APIClient()
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
