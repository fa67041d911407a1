"""Every web route keeps organization A's data from Charlie, the owner of organization B.

A's records all carry the marker ``alpha-secret``. Charlie gets a 404 on every URL that names one
of A's objects (GET and POST), and no page he can open ever shows the marker. A route missing
from the tables below fails ``test_every_web_route_has_isolation_coverage``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from crm import services
from crm.models import Account, Contact, Deal, Invitation, Membership, Task
from crm.tenancy import all_tenants
from crm.urls import urlpatterns
from integrations.mail import web_inbox_urls
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TaskFactory,
)
from tests.web.inbox_support import THREAD_ROUTES, marked_thread

MARKER = "alpha-secret"

# Routes naming one of A's objects: url name → the fixture key of that object.
OBJECT_ROUTES = {
    **{
        f"{kind}_{action}": kind
        for kind in ("contact", "account", "deal", "task")
        for action in ("detail", "edit", "delete")
    },
    "task_set_status": "task",
    "member_set_role": "membership",
    "member_remove": "membership",
    "invitation_revoke": "invitation",
    "token_revoke": "token",
    # The Inbox's thread view and its actions (integrations/mail/web_inbox_urls.py).
    **dict.fromkeys(THREAD_ROUTES, "thread"),
}
# Pages without an id: Charlie may open them, and they must never show A's data.
PAGES = [
    "home",
    "inbox",
    "calendar",
    "documents",
    "contact_list",
    "account_list",
    "deal_list",
    "task_list",
    "contact_create",
    "account_create",
    "deal_create",
    "task_create",
    "settings",
    "member_list",
    "token_list",
    "token_create",
    "organization_create",
]
# Routes whose isolation is tested on its own below.
SEPARATE = {
    "organization_switch": "test_switching_to_an_organization_you_are_not_in_is_a_404",
    "member_invite": "test_invitations_are_created_in_the_current_organization_only",
    "invitation_accept": "the key is the credential: tests/web/test_invitations.py",
    "inbox_bulk": "tests/web/test_inbox_pages.py (bulk actions on another organization's ids)",
}


@pytest.fixture
def alpha(org_a: Tenant, org_b: Tenant) -> dict[str, Any]:
    """One of everything in A, each carrying the marker."""
    with org_a.scope():
        account = AccountFactory(name=f"{MARKER} account", industry=MARKER)
        AccountDomainFactory(account=account, domain=f"{MARKER}.test")
        contact = ContactFactory(first_name=MARKER, last_name=MARKER, account=account)
        ContactEmailFactory(contact=contact, email=f"{MARKER}@alpha.test")
        deal = DealFactory(name=f"{MARKER} deal", account=account)
        task = TaskFactory(title=f"{MARKER} task", contact=contact, assignee=org_a.owner)
        invitation = services.invitation_create(
            email=f"{MARKER}@invitee.test", role="member", invited_by=org_a.owner
        )
        token = services.api_token_issue(
            user=org_a.owner, description=f"{MARKER} token", scopes=["read"]
        ).token
    membership = Membership.objects.get(user=org_a.member, organization=org_a.organization)
    thread = marked_thread(org_a, MARKER)
    return {
        "account": account,
        "contact": contact,
        "deal": deal,
        "task": task,
        "invitation": invitation,
        "token": token,
        "membership": membership,
        "thread": thread,
    }


def test_every_web_route_has_isolation_coverage() -> None:
    routes = [*urlpatterns, *web_inbox_urls.urlpatterns]
    names = {p.name or p.pattern.describe() for p in routes if isinstance(p, URLPattern)}

    missing = names - set(OBJECT_ROUTES) - set(PAGES) - set(SEPARATE)

    assert not missing, f"Routes without an isolation check: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_object_is_a_404(
    charlie: Client, alpha: dict[str, Any], name: str, method: str
) -> None:
    target = alpha[OBJECT_ROUTES[name]]
    data = {"status": "done", "role": "member", "name": "hijacked", "title": "hijacked"}

    response = getattr(charlie, method)(reverse(name, args=[target.pk]), data)

    # Views that only accept POST answer a GET with 405 before looking anything up.
    assert response.status_code == (405 if method == "get" and _post_only(name) else 404)
    assert MARKER not in response.content.decode()


def _post_only(name: str) -> bool:
    return name in {"task_set_status", "member_set_role", "invitation_revoke", "token_revoke"}


def test_nothing_of_a_changes_after_charlies_requests(
    charlie: Client, org_a: Tenant, alpha: dict[str, Any]
) -> None:
    for name, key in OBJECT_ROUTES.items():
        charlie.post(reverse(name, args=[alpha[key].pk]), {"status": "done", "name": "x"})

    with org_a.scope():
        assert Account.objects.filter(name=f"{MARKER} account").exists()
        assert Contact.objects.filter(first_name=MARKER).exists()
        assert Deal.objects.filter(name=f"{MARKER} deal").exists()
        assert Task.objects.get(title=f"{MARKER} task").status == "open"
        assert Invitation.objects.filter(pk=alpha["invitation"].pk).exists()
        assert alpha["token"].__class__.objects.get(pk=alpha["token"].pk).revoked_at is None
    assert Membership.objects.filter(pk=alpha["membership"].pk).exists()


@pytest.mark.parametrize("name", PAGES)
def test_pages_never_show_another_organizations_data(
    charlie: Client, alpha: dict[str, Any], name: str
) -> None:
    # "secret" matches every record of A, and the page echoes the query, not the marker.
    for query in ({}, {"q": "secret"}, {"account": alpha["account"].pk}):
        response = charlie.get(reverse(name), query)
        assert response.status_code == 200
        assert MARKER not in response.content.decode()


def test_records_of_another_organization_cannot_be_linked(
    charlie: Client, org_b: Tenant, alpha: dict[str, Any]
) -> None:
    response = charlie.post(
        reverse("task_create"),
        {"title": "sneaky", "status": "open", "contact": alpha["contact"].pk},
    )

    assert "Select a valid choice" in response.content.decode()
    with org_b.scope():
        assert not Task.objects.filter(title="sneaky").exists()


def test_owner_choices_are_members_of_the_current_organization_only(
    charlie: Client, org_a: Tenant, org_b: Tenant
) -> None:
    response = charlie.post(reverse("account_create"), {"name": "Mine", "owner": org_a.owner.pk})

    assert "Select a valid choice" in response.content.decode()


def test_switching_to_an_organization_you_are_not_in_is_a_404(
    charlie: Client, org_a: Tenant, org_b: Tenant
) -> None:
    response = charlie.post(reverse("organization_switch"), {"organization": org_a.organization.pk})

    assert response.status_code == 404
    assert charlie.session["organization_id"] == org_b.organization.pk


def test_invitations_are_created_in_the_current_organization_only(
    charlie: Client, org_a: Tenant, org_b: Tenant
) -> None:
    charlie.post(
        reverse("member_invite"),
        {"email": "new@x.test", "role": "member", "organization": org_a.organization.pk},
    )

    with all_tenants():
        invitation = Invitation.objects.unscoped().get(email="new@x.test")
    assert invitation.organization_id == org_b.organization.pk
