"""What an address says about its owner: free mail, machines and role accounts, names."""

from __future__ import annotations

import pytest

from integrations.mail.matching_addresses import (
    domain_and_parents,
    is_free_mail_domain,
    is_role_address,
    looks_automated,
    name_split,
)


def test_a_domain_and_its_parents_stop_at_two_labels() -> None:
    assert domain_and_parents("b.acme.co.uk") == ("b.acme.co.uk", "acme.co.uk", "co.uk")
    assert domain_and_parents("acme.com") == ("acme.com",)
    assert domain_and_parents("") == ()


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("gmail.com", True),
        ("googlemail.com", True),
        ("outlook.com", True),
        ("hotmail.co.uk", True),
        ("yahoo.com", True),
        ("acme.com", False),
        ("sterling.com", False),
    ],
)
def test_free_mail_domains_come_from_the_maintained_list(domain: str, free: bool) -> None:
    assert is_free_mail_domain(domain) is free


@pytest.mark.parametrize(
    "address",
    [
        "ada.lovelace@acme.com",
        "ada@acme.com",
        "a.lovelace+crm@acme.com",
        "jsmith1985@gmail.com",
        "newton@news-corp.com",
    ],
)
def test_people_are_not_role_addresses(address: str) -> None:
    assert not is_role_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "billing@invoicely.app",
        "events@cloudconf.events",
        "info@acme.com",
        "support+ticket-881@acme.com",
        "no.reply@acme.com",
        "alerts-noreply@bank.test",
        "msprvs1=19876abc=bounces-123@mail.acme.com",
        "someone@bounces.acme.com",
        "ada@sendgrid.net",
    ],
)
def test_role_and_machine_addresses_are_recognised(address: str) -> None:
    assert is_role_address(address)


def test_a_display_name_can_give_a_machine_away() -> None:
    assert looks_automated("ops@acme.com", "Acme (No-Reply)")
    assert looks_automated("ops@acme.com", "Mailer-Daemon")
    assert not looks_automated("ada@acme.com", "Ada Lovelace")


@pytest.mark.parametrize(
    ("display", "address", "expected"),
    [
        ("Ada Lovelace", "a@x.test", ("Ada", "Lovelace")),
        ("Lovelace, Ada", "a@x.test", ("Ada", "Lovelace")),
        ("ADA LOVELACE", "a@x.test", ("Ada", "Lovelace")),
        ('"Ada Lovelace (Acme)"', "a@x.test", ("Ada", "Lovelace")),
        ("Ada Lovelace | Acme Inc", "a@x.test", ("Ada", "Lovelace")),
        ("Dr. Grace Brewster Hopper", "g@x.test", ("Grace Brewster", "Hopper")),
        ("Jan van der Berg", "j@x.test", ("Jan", "van der Berg")),
        ("Martin Luther King Jr.", "m@x.test", ("Martin Luther", "King Jr.")),
        ("Ximena", "x@x.test", ("Ximena", "")),
        ("Jean-luc PICARD", "j@x.test", ("Jean-luc", "Picard")),
        ("", "ada.lovelace@x.test", ("Ada", "Lovelace")),
        ("ada.lovelace@x.test", "ada.lovelace@x.test", ("Ada", "Lovelace")),
        ("CloudConf 2026", "cc@x.test", ("", "")),
        ("", "jsmith@x.test", ("", "")),
    ],
)
def test_display_names_split_into_first_and_last(
    display: str, address: str, expected: tuple[str, str]
) -> None:
    assert name_split(display, address) == expected
