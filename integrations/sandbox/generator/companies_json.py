"""The JSON shape of generator companies, as the control API's ``fill`` routes take them:
``[{"name", "domain", "people": [{"name", "email"}]}]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from integrations.sandbox.generator.models import Company, Person


def companies_to_json(companies: Sequence[Company]) -> list[dict[str, Any]]:
    return [
        {
            "name": company.name,
            "domain": company.domain,
            "people": [{"name": p.name, "email": p.email} for p in company.people],
        }
        for company in companies
    ]


def _text(item: Any, key: str, where: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def companies_from_json(value: Any) -> list[Company]:
    """Companies from the JSON shape; ``ValueError`` names the first field that is wrong."""
    if not isinstance(value, list) or not value:
        raise ValueError("companies must be a non-empty list")
    companies = []
    for index, item in enumerate(value):
        where = f"companies[{index}]"
        people = item.get("people") if isinstance(item, dict) else None
        if not isinstance(people, list) or not people:
            raise ValueError(f"{where}.people must be a non-empty list")
        persons = []
        for number, person in enumerate(people):
            email = _text(person, "email", f"{where}.people[{number}]")
            if "@" not in email:
                raise ValueError(f"{where}.people[{number}].email must be an e-mail address")
            persons.append(Person(_text(person, "name", f"{where}.people[{number}]"), email))
        companies.append(
            Company(_text(item, "name", where), _text(item, "domain", where), tuple(persons))
        )
    return companies
