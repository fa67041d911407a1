"""Companies, their people, and the owner's colleagues."""

from __future__ import annotations

import random

from integrations.sandbox.generator.models import Company, Person
from integrations.sandbox.generator.words import (
    COMPANY_FORMS,
    COMPANY_STEMS,
    FIRST_NAMES,
    FREE_MAIL,
    INDUSTRIES,
    INTERNATIONAL,
    LAST_NAMES,
    TLDS,
    ascii_slug,
    person_email,
)

COMPANY_COUNT = 10


def _people(rng: random.Random, domain: str, count: int, taken: set[str]) -> tuple[Person, ...]:
    people: list[Person] = []
    while len(people) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = person_email(rng, first, last, domain)
        if email in taken:
            continue
        taken.add(email)
        people.append(Person(f"{first} {last}", email))
    return tuple(people)


def default_companies(seed: int) -> list[Company]:
    """About a dozen B2B companies with 3-7 people each; two have non-ASCII names."""
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret
    taken: set[str] = set()
    companies = []
    for stem in rng.sample(COMPANY_STEMS, COMPANY_COUNT):
        industry = rng.choice(INDUSTRIES)
        name = " ".join(part for part in (stem, industry, rng.choice(COMPANY_FORMS)) if part)
        suffix = rng.choice(("", "", f"-{ascii_slug(industry)}", "hq"))
        domain = f"{ascii_slug(stem)}{suffix}{rng.choice(TLDS)}"
        companies.append(Company(name, domain, _people(rng, domain, rng.randint(3, 7), taken)))
    for name, domain in rng.sample(INTERNATIONAL, 2):
        companies.append(Company(name, domain, _people(rng, domain, rng.randint(2, 4), taken)))
    return companies


def colleagues(rng: random.Random, owner: Person, count: int = 4) -> tuple[Person, ...]:
    """People at the owner's own domain (internal mail)."""
    domain = owner.email.rsplit("@", 1)[1].lower()
    return _people(rng, domain, count, {owner.email.lower()})


def free_mail_contacts(rng: random.Random, count: int = 3) -> tuple[Person, ...]:
    """Contacts writing from personal addresses, which the CRM must never turn into accounts."""
    taken: set[str] = set()
    return tuple(
        person for _ in range(count) for person in _people(rng, rng.choice(FREE_MAIL), 1, taken)
    )


def company_name_for(domain: str) -> str:
    """A display name for the owner's company, from its domain: acme-labs.io -> Acme Labs."""
    stem = domain.split(".")[0]
    return " ".join(part.capitalize() for part in stem.replace("_", "-").split("-"))
