"""allauth's pages in Liaison's look: sign in by e-mail, sign up with an organization, resets."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from crm.models import Membership, Role
from tests.conftest import Tenant
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"],
)
def test_entrance_pages_use_the_auth_layout(client: Client, name: str) -> None:
    body = client.get(reverse(name)).content.decode()

    assert "/static/css/app.css" in body
    assert 'class="auth-card"' in body


@pytest.mark.parametrize("name", ["account_email", "account_change_password", "account_logout"])
def test_account_pages_use_the_app_layout(alice: Client, name: str) -> None:
    body = alice.get(reverse(name)).content.decode()

    assert 'class="sidebar"' in body
    assert 'class="btn' in body


def test_sign_in_with_e_mail_and_password(client: Client, org_a: Tenant) -> None:
    response = client.post(
        reverse("account_login"), {"login": "alice@alpha.test", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Alpha Sales" in response.content.decode()


def test_wrong_password_shows_an_error(client: Client, org_a: Tenant) -> None:
    response = client.post(reverse("account_login"), {"login": "alice@alpha.test", "password": "x"})

    assert 'class="form-errors"' in response.content.decode()


def test_sign_up_creates_the_users_organization(client: Client) -> None:
    client.post(
        reverse("account_signup"),
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@navy.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "organization_name": "Navy Sales",
        },
    )

    membership = Membership.objects.select_related("organization", "user").get(
        user__email="grace@navy.test"
    )
    assert membership.organization.name == "Navy Sales"
    assert membership.role == Role.OWNER
    assert membership.user.get_full_name() == "Grace Hopper"


def test_signup_form_asks_for_names_and_organization(client: Client) -> None:
    body = client.get(reverse("account_signup")).content.decode()

    for field in ("first_name", "last_name", "email", "password1", "organization_name"):
        assert f'name="{field}"' in body
    assert 'name="username"' not in body


def test_password_reset_from_the_e_mailed_link(client: Client, org_a: Tenant) -> None:
    client.post(reverse("account_reset_password"), {"email": "alice@alpha.test"})
    (sent,) = mail.outbox
    link = re.search(r"http://testserver(/auth/password/reset/key/\S+)", sent.body)
    assert link is not None

    form_page = client.get(link.group(1), follow=True)
    assert 'name="password1"' in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"},
        follow=True,
    )

    assert "Your password is now changed." in done.content.decode()
    assert client.login(email="alice@alpha.test", password="a-new-long-passphrase")


def test_a_bad_reset_link_is_explained(client: Client) -> None:
    response = client.get("/auth/password/reset/key/xx-bad/", follow=True)

    assert "Bad Token" in response.content.decode()
