"""Settings landing, API tokens, organizations (switch, create) and the sections to come."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from crm import services
from crm.models import ApiToken, Membership, Organization, Role
from crm.models.tenants import hash_secret
from tests.conftest import Tenant
from tests.factories import MembershipFactory, UserFactory
from tests.web.conftest import signed_in


def test_settings_links_connections_mailboxes_and_the_blocklist(alice: Client) -> None:
    body = alice.get(reverse("settings")).content.decode()

    for name in ("settings-connections", "settings-mailboxes", "blocklist"):
        assert f'href="{reverse(name)}"' in body
    assert "Not available yet" not in body


def test_sections_to_come_say_nothing_is_synced(alice: Client) -> None:
    assert "nothing is synced yet" in alice.get(reverse("calendar")).content.decode()
    assert "no documents are stored yet" in alice.get(reverse("documents")).content.decode()


def test_creating_a_token_shows_the_secret_once(alice: Client, org_a: Tenant) -> None:
    response = alice.post(
        reverse("token_create"), {"description": "Zapier", "scopes": ["read", "api"]}
    )

    secret = response.context["issued"].secret
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    with org_a.scope():
        token = ApiToken.objects.get(description="Zapier")
    assert token.key_hash == hash_secret(secret)
    assert token.scopes == ["api", "read"]
    assert secret not in alice.get(reverse("token_list")).content.decode()
    assert token.prefix in alice.get(reverse("token_list")).content.decode()


def test_a_token_needs_a_description_and_a_scope(alice: Client, org_a: Tenant) -> None:
    response = alice.post(reverse("token_create"), {"description": "", "scopes": []})

    assert response.content.decode().count("This field is required.") == 2
    with org_a.scope():
        assert not ApiToken.objects.exists()


def test_revoking_a_token(alice: Client, org_a: Tenant) -> None:
    with org_a.scope():
        token = services.api_token_issue(user=org_a.owner, description="old", scopes=["*"]).token

    alice.post(reverse("token_revoke", args=[token.pk]))

    with org_a.scope():
        token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in alice.get(reverse("token_list")).content.decode()


def test_tokens_are_personal(alice: Client, bob: Client, org_a: Tenant) -> None:
    with org_a.scope():
        token = services.api_token_issue(
            user=org_a.member, description="bobs", scopes=["read"]
        ).token

    assert "bobs" not in alice.get(reverse("token_list")).content.decode()
    assert alice.post(reverse("token_revoke", args=[token.pk])).status_code == 404
    assert "bobs" in bob.get(reverse("token_list")).content.decode()


def test_switching_between_your_organizations(org_a: Tenant, org_b: Tenant) -> None:
    MembershipFactory(user=org_a.owner, organization=org_b.organization, role=Role.MEMBER)
    alice = signed_in(org_a.owner)
    menu = alice.get(reverse("home")).content.decode()
    assert "Alpha Sales" in menu and "Beta Sales" in menu

    response = alice.post(reverse("organization_switch"), {"organization": org_b.organization.pk})

    assert response["Location"] == reverse("home")
    assert alice.session["organization_id"] == org_b.organization.pk
    assert alice.get(reverse("home")).context["current_organization"] == org_b.organization


def test_switching_refuses_garbage(alice: Client) -> None:
    assert alice.post(reverse("organization_switch"), {"organization": "x"}).status_code == 404
    assert alice.get(reverse("organization_switch")).status_code == 405


def test_creating_an_organization_makes_you_its_owner(alice: Client, org_a: Tenant) -> None:
    alice.post(reverse("organization_create"), {"name": "Side Project"})

    organization = Organization.objects.get(name="Side Project")
    assert Membership.objects.get(user=org_a.owner, organization=organization).role == Role.OWNER
    assert alice.session["organization_id"] == organization.pk


def test_people_without_an_organization_are_offered_to_create_one(db: None) -> None:
    loner = signed_in(UserFactory())

    for name in ("home", "contact_list", "settings"):
        body = loner.get(reverse(name)).content.decode()
        assert "You are not in an organization" in body
        assert reverse("organization_create") in body


def test_pages_send_the_csrf_token_with_htmx_requests(alice: Client) -> None:
    body = alice.get(reverse("contact_list")).content.decode()

    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "/static/vendor/htmx.min.js" in body
    assert "https://" not in body.split("</head>")[0]
