"""Settings → Members: who may change roles, remove people, invite and revoke."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from crm import services
from crm.models import Invitation, Membership, Role
from crm.tenancy import all_tenants
from tests.conftest import Tenant, membership
from tests.factories import MembershipFactory, UserFactory
from tests.web.conftest import signed_in


@pytest.fixture
def admin(org_a: Tenant) -> Client:
    user = UserFactory(email="ada.admin@alpha.test")
    MembershipFactory(user=user, organization=org_a.organization, role=Role.ADMIN)
    return signed_in(user)


def test_members_see_the_list_but_no_management(bob: Client, org_a: Tenant) -> None:
    body = bob.get(reverse("member_list")).content.decode()

    assert "alice@alpha.test" in body
    assert "Invite someone" not in body
    assert (
        reverse("member_set_role", args=[membership(org_a.owner, org_a.organization).pk])
        not in body
    )


def test_a_member_cannot_change_roles_or_remove_people(bob: Client, org_a: Tenant) -> None:
    alice_membership = membership(org_a.owner, org_a.organization)

    assert (
        bob.post(
            reverse("member_set_role", args=[alice_membership.pk]), {"role": "member"}
        ).status_code
        == 403
    )
    assert bob.post(reverse("member_remove", args=[alice_membership.pk])).status_code == 403
    assert (
        bob.post(reverse("member_invite"), {"email": "x@y.test", "role": "member"}).status_code
        == 403
    )
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.OWNER


def test_an_admin_changes_a_members_role(admin: Client, org_a: Tenant) -> None:
    bob_membership = membership(org_a.member, org_a.organization)

    response = admin.post(reverse("member_set_role", args=[bob_membership.pk]), {"role": "admin"})

    assert response.status_code == 302
    bob_membership.refresh_from_db()
    assert bob_membership.role == Role.ADMIN


def test_an_admin_cannot_touch_owners(admin: Client, org_a: Tenant) -> None:
    alice_membership = membership(org_a.owner, org_a.organization)
    bob_membership = membership(org_a.member, org_a.organization)

    assert (
        admin.post(
            reverse("member_set_role", args=[alice_membership.pk]), {"role": "member"}
        ).status_code
        == 403
    )
    assert (
        admin.post(
            reverse("member_set_role", args=[bob_membership.pk]), {"role": "owner"}
        ).status_code
        == 403
    )
    assert admin.post(reverse("member_remove", args=[alice_membership.pk])).status_code == 403


def test_an_owner_makes_someone_else_owner(alice: Client, org_a: Tenant) -> None:
    bob_membership = membership(org_a.member, org_a.organization)

    alice.post(reverse("member_set_role", args=[bob_membership.pk]), {"role": "owner"})

    bob_membership.refresh_from_db()
    assert bob_membership.role == Role.OWNER


def test_the_last_owner_cannot_step_down(alice: Client, org_a: Tenant) -> None:
    mine = membership(org_a.owner, org_a.organization)

    response = alice.post(
        reverse("member_set_role", args=[mine.pk]), {"role": "member"}, follow=True
    )

    assert "An organization keeps at least one owner." in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_removing_asks_first_then_removes(alice: Client, org_a: Tenant) -> None:
    bob_membership = membership(org_a.member, org_a.organization)
    url = reverse("member_remove", args=[bob_membership.pk])

    assert "will lose access" in alice.get(url).content.decode()
    alice.post(url)

    assert not Membership.objects.filter(pk=bob_membership.pk).exists()


def test_a_member_can_leave(bob: Client, org_a: Tenant) -> None:
    mine = membership(org_a.member, org_a.organization)

    response = bob.post(reverse("member_remove", args=[mine.pk]))

    assert response["Location"] == reverse("home")
    assert not Membership.objects.filter(pk=mine.pk).exists()
    assert "You are not in an organization" in bob.get(reverse("home")).content.decode()


def test_inviting_sends_an_email_with_an_absolute_link(alice: Client, org_a: Tenant) -> None:
    response = alice.post(
        reverse("member_invite"), {"email": "New.Person@Example.test", "role": "admin"}, follow=True
    )

    assert "Invitation sent to new.person@example.test." in response.content.decode()
    with all_tenants():
        invitation = Invitation.objects.unscoped().get(email="new.person@example.test")
    assert (invitation.organization_id, invitation.role) == (org_a.organization.pk, Role.ADMIN)
    (sent,) = mail.outbox
    assert sent.to == ["new.person@example.test"]
    assert "Alpha Sales" in sent.subject
    assert f"http://testserver/invitations/{invitation.key}/" in sent.body
    assert "new.person@example.test" in response.content.decode()


def test_invite_validation_errors_are_shown(alice: Client) -> None:
    response = alice.post(reverse("member_invite"), {"email": "not-an-address", "role": "member"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not mail.outbox


def test_inviting_a_current_member_is_refused(alice: Client) -> None:
    response = alice.post(reverse("member_invite"), {"email": "bob@alpha.test", "role": "member"})

    assert "bob@alpha.test is already a member." in response.content.decode()


def test_an_admin_cannot_invite_owners(admin: Client) -> None:
    response = admin.post(reverse("member_invite"), {"email": "boss@x.test", "role": "owner"})

    assert "Select a valid choice" in response.content.decode()
    with all_tenants():
        assert not Invitation.objects.unscoped().filter(email="boss@x.test").exists()


def test_open_invitations_are_listed_and_can_be_revoked(alice: Client, org_a: Tenant) -> None:
    with org_a.scope():
        invitation = services.invitation_create(
            email="pending@x.test", role="member", invited_by=org_a.owner
        )
    assert "pending@x.test" in alice.get(reverse("member_list")).content.decode()

    alice.post(reverse("invitation_revoke", args=[invitation.pk]))

    assert services.invitation_by_key(invitation.key) is None
    assert list(alice.get(reverse("member_list")).context["invitations"]) == []


def test_a_member_cannot_revoke_invitations(bob: Client, org_a: Tenant) -> None:
    with org_a.scope():
        invitation = services.invitation_create(
            email="pending@x.test", role="member", invited_by=org_a.owner
        )

    assert bob.post(reverse("invitation_revoke", args=[invitation.pk])).status_code == 403
    assert services.invitation_by_key(invitation.key) is not None
