"""search_parse: a mail client's search box, read into words, phrases and operators."""

from __future__ import annotations

from datetime import date

import pytest

from integrations.mail.search import SearchQuery, SearchSyntaxError, search_parse, tsquery_text
from integrations.mail.visibility import FULL, METADATA, SUBJECT


def test_words_phrases_and_operators_are_told_apart() -> None:
    query = search_parse(
        'budget "price list" from:anna@acme.test to:"Bob Stone" subject:renewal '
        "has:attachment before:2026-03-01 after:2026-01-15"
    )
    assert query == SearchQuery(
        words=("budget",),
        phrases=("price list",),
        senders=("anna@acme.test",),
        recipients=("Bob Stone",),
        subject=("renewal",),
        has_attachment=True,
        before=date(2026, 3, 1),
        after=date(2026, 1, 15),
    )


def test_operators_are_case_insensitive_and_unknown_ones_are_words() -> None:
    query = search_parse("FROM:anna label:urgent HAS:attachments")
    assert query.senders == ("anna",)
    assert query.words == ("label:urgent",)
    assert query.has_attachment


def test_an_empty_query_or_only_punctuation_matches_everything() -> None:
    assert not search_parse("")
    assert not search_parse('  -- "" ')


@pytest.mark.parametrize("text", ['from:"anna', "before:2026-13-01", "after:yesterday", "x" * 501])
def test_unreadable_queries_are_refused(text: str) -> None:
    with pytest.raises(SearchSyntaxError):
        search_parse(text)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("budget", FULL),
        ('"price list" from:anna', FULL),
        ("subject:renewal from:anna", SUBJECT),
        ("from:anna to:bob has:attachment before:2026-01-01", METADATA),
    ],
)
def test_the_level_a_query_needs_follows_what_it_reads(text: str, level: int) -> None:
    assert search_parse(text).level == level


def test_the_postgres_query_weights_fields_and_quotes_every_value() -> None:
    query = search_parse("""budg "price list" from:anna subject:it's to:x&y|z!""")
    assert tsquery_text(query) == ("'budg':* & 'price list' & 'it s':*A & 'anna':*B & 'x y z':*C")
