"""The Inbox web UI: the list (folders, search, filters, pages), toggles and bulk actions that go
through ``flags.set_flags``, the thread view and its panels, the htmx partials, visibility
levels, and another organization's user kept out."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Role, User
from integrations.mail.models import (
    Mailbox,
    MessageCopy,
    ThreadLink,
    ThreadLinkSuppression,
    ThreadTask,
    Visibility,
)
from tests.conftest import Tenant
from tests.factories import MembershipFactory, UserFactory
from tests.mail.inbox.support import PROVIDERS, Mail, mailbox_of, store
from tests.web.inbox_support import (
    ADA,
    ALICE,
    DIGEST,
    OLD,
    QUOTE,
    QUOTE_TEXT,
    THREAD_ROUTES,
    InboxMail,
    client_of,
    htmx,
    inbox_mail,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(org_a: Tenant) -> InboxMail:
    return inbox_mail(org_a)


def _copies(org: Tenant, mail: InboxMail, pid: str) -> MessageCopy:
    with org.scope():
        return MessageCopy.objects.get(mailbox=mail.mailbox, provider_message_id=pid)


def _flag(client: Client, thread_id: int, flag: str, value: str, **extra: str) -> str:
    response = client.post(
        reverse("inbox_thread_flag", args=[thread_id]),
        {"flag": flag, "value": value, "folder": "inbox", **extra},
        **htmx(f"inbox-row-{thread_id}"),
    )
    assert response.status_code == 200
    return response.content.decode()


# --- the list ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_inbox_lists_conversations_with_crm_chips_unread_counts_and_attachments(
    org_a: Tenant, provider: str
) -> None:
    mail = inbox_mail(org_a, provider)

    response = client_of(org_a.owner).get(reverse("inbox"))

    page = response.content.decode()
    assert response.status_code == 200
    assert QUOTE in page and DIGEST in page and OLD not in page  # the old one is archived
    assert "Thanks, we will review it" in page  # the newest message's snippet
    assert f'href="{reverse("contact_detail", args=[mail.contact.pk])}"' in page
    assert f'href="{reverse("account_detail", args=[mail.account.pk])}"' in page
    rows = {row.row.id: row.row for row in response.context["rows"]}
    assert rows[mail.quote.pk].unread and rows[mail.quote.pk].has_attachments
    assert not rows[mail.digest.pk].unread
    assert f'id="inbox-row-{mail.quote.pk}"' in page and "inbox-row is-unread" in page
    assert "Has attachments" in page
    folders = {f.value: f.unread for f in response.context["folders"]}
    assert folders["inbox"] == 1 and folders["archive"] == 0
    assert '<span class="nav__count">1' in page  # the navigation's unread badge
    assert "js/inbox.js" in page


def test_folders_show_their_conversations(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)

    def subjects(folder: str) -> set[str | None]:
        response = alice.get(reverse("inbox"), {"folder": folder})
        return {item.row.subject for item in response.context["rows"]}

    assert subjects("archive") == {OLD}
    assert subjects("sent") == {QUOTE}
    assert subjects("all") == {QUOTE, DIGEST, OLD}
    assert subjects("starred") == set()
    assert subjects("no-such-folder") == {QUOTE, DIGEST}  # the inbox


def test_search_operators_and_the_unread_filter_narrow_the_list(
    org_a: Tenant, mail: InboxMail
) -> None:
    alice = client_of(org_a.owner)

    def subjects(**query: str) -> set[str | None]:
        response = alice.get(reverse("inbox"), {"folder": "all", **query})
        return {item.row.subject for item in response.context["rows"]}

    assert subjects(q=f"from:{ADA}") == {QUOTE, OLD}
    assert subjects(q="subject:digest") == {DIGEST}
    assert subjects(q="has:attachment") == {QUOTE}
    assert subjects(q="rockets") == {DIGEST}
    assert subjects(unread="1") == {QUOTE}
    page = alice.get(reverse("inbox")).content.decode()
    assert "from: to: subject: has:attachment before: after:" in page  # the placeholder


def test_a_query_that_cannot_be_read_says_why(org_a: Tenant, mail: InboxMail) -> None:
    response = client_of(org_a.owner).get(reverse("inbox"), {"q": "before:2026-13-45"})

    assert response.status_code == 200
    assert "takes a date as YYYY-MM-DD" in response.content.decode()
    assert response.context["rows"] == []


def test_the_mailbox_switcher_lists_one_mailbox(org_a: Tenant, mail: InboxMail) -> None:
    with org_a.scope():
        other = mailbox_of(org_a.member, "microsoft", "bob@alpha.test")
        store(
            other, Mail("b1", "carol@customer.test", ["bob@alpha.test"], subject="Lead from Carol")
        )
    alice = client_of(org_a.owner)

    everything = alice.get(reverse("inbox"))
    only_bob = alice.get(reverse("inbox"), {"mailbox": other.pk})

    assert "Lead from Carol" in everything.content.decode()
    assert {i.row.subject for i in only_bob.context["rows"]} == {"Lead from Carol"}
    assert f'<option value="{other.pk}" selected>' in only_bob.content.decode()


def test_htmx_gets_the_list_alone_with_the_folders_out_of_band(
    org_a: Tenant, mail: InboxMail
) -> None:
    alice = client_of(org_a.owner)

    listed = alice.get(reverse("inbox"), {"q": "digest"}, **htmx("inbox-list")).content.decode()
    folder = alice.get(reverse("inbox"), {"folder": "archive"}, **htmx("inbox-main"))

    assert "<html" not in listed and DIGEST in listed and QUOTE not in listed
    assert 'id="inbox-folders" hx-swap-oob="true"' in listed
    assert 'id="nav-inbox"' in listed
    main = folder.content.decode()
    assert "<html" not in main and 'id="inbox-search"' in main and OLD in main


def test_the_next_page_loads_when_the_end_of_the_list_is_revealed(
    org_a: Tenant, mail: InboxMail
) -> None:
    with org_a.scope():
        store(
            mail.mailbox,
            *(Mail(f"n{i}", f"lead{i}@leads.test", [ALICE], subject=f"Lead {i}", at=100 + i)
              for i in range(30)),
        )  # fmt: skip
    alice = client_of(org_a.owner)

    first = alice.get(reverse("inbox"))
    more = alice.get(reverse("inbox"), {"page": "2"}, **htmx("inbox-more"))

    page = first.content.decode()
    assert len(first.context["rows"]) == 25
    assert 'hx-trigger="revealed"' in page and 'hx-get="/inbox/?page=2"' in page
    rows = more.content.decode()
    assert "<html" not in rows and 'id="inbox-bulk"' not in rows
    newest_last = ["Lead 4", "Lead 3", "Lead 2", "Lead 1", "Lead 0", QUOTE, DIGEST]
    assert [i.row.subject for i in more.context["rows"]] == newest_last
    assert 'hx-trigger="revealed"' not in rows  # the last page


def test_the_list_costs_the_same_queries_however_many_rows(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)
    alice.get(reverse("inbox"))  # the first request also stores the organization in the session
    with CaptureQueriesContext(connection) as few:
        alice.get(reverse("inbox"))
    with org_a.scope():
        store(
            mail.mailbox,
            *(Mail(f"m{i}", f"lead{i}@leads.test", [ALICE], subject=f"Lead {i}", at=50 + i)
              for i in range(12)),
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = alice.get(reverse("inbox"))

    assert len(response.context["rows"]) == 14
    assert len(many) == len(few)


# --- toggles and bulk actions --------------------------------------------------------------------


def test_starring_a_row_stars_the_newest_message_and_swaps_the_row(
    org_a: Tenant, mail: InboxMail
) -> None:
    response = _flag(client_of(org_a.owner), mail.quote.pk, "starred", "1")

    assert response.lstrip().startswith(
        f'<li class="inbox-row is-unread" id="inbox-row-{mail.quote.pk}"'
    )
    assert 'aria-pressed="true"' in response
    assert 'id="inbox-folders" hx-swap-oob="true"' in response
    newest, first = _copies(org_a, mail, "q2"), _copies(org_a, mail, "q1")
    assert newest.is_starred and newest.pending_flags == {"is_starred": True}
    assert not first.is_starred


def test_archiving_a_row_takes_it_out_of_the_inbox_list(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)

    response = _flag(alice, mail.quote.pk, "archived", "1")

    assert f'id="inbox-row-{mail.quote.pk}"' not in response  # the row goes
    assert not _copies(org_a, mail, "q1").in_inbox and _copies(org_a, mail, "q1").is_archived
    assert QUOTE not in alice.get(reverse("inbox")).content.decode()
    archived = alice.get(reverse("inbox"), {"folder": "archive"})
    assert QUOTE in archived.content.decode()


def test_marking_a_row_read_and_unread_redraws_it_and_the_counts(
    org_a: Tenant, mail: InboxMail
) -> None:
    alice = client_of(org_a.owner)

    read = _flag(alice, mail.quote.pk, "read", "1")
    assert _copies(org_a, mail, "q1").is_read
    assert "is-unread" not in read.split("</li>")[0]
    assert '<span class="nav__count">' not in read  # nothing unread any more

    unread = _flag(alice, mail.digest.pk, "read", "0")
    assert not _copies(org_a, mail, "d1").is_read
    assert "inbox-row is-unread" in unread and '<span class="nav__count">1' in unread


def test_without_javascript_a_toggle_posts_and_comes_back(org_a: Tenant, mail: InboxMail) -> None:
    response = client_of(org_a.owner).post(
        reverse("inbox_thread_flag", args=[mail.digest.pk]),
        {"flag": "starred", "value": "1"},
        HTTP_REFERER="http://testserver/inbox/?folder=all",
    )

    assert (
        response.status_code == 302
        and response["Location"] == "http://testserver/inbox/?folder=all"
    )
    assert _copies(org_a, mail, "d1").is_starred


def test_bulk_actions_change_every_selected_conversation(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)
    selected = [mail.quote.pk, mail.digest.pk]

    def bulk(action: str, folder: str = "inbox") -> str:
        response = alice.post(
            reverse("inbox_bulk"),
            {"threads": selected, "action": action, "folder": folder},
            **htmx("inbox-list"),
        )
        assert response.status_code == 200
        return response.content.decode()

    bulk("star")
    assert _copies(org_a, mail, "q2").is_starred and _copies(org_a, mail, "d1").is_starred
    bulk("read")
    assert _copies(org_a, mail, "q1").is_read
    listed = bulk("archive")
    assert "<html" not in listed and QUOTE not in listed and DIGEST not in listed
    assert not _copies(org_a, mail, "q1").in_inbox and not _copies(org_a, mail, "d1").in_inbox
    assert 'id="inbox-folders" hx-swap-oob="true"' in listed
    back = bulk("unarchive", folder="archive")
    assert QUOTE not in back and DIGEST not in back and OLD in back  # the archive's list
    assert _copies(org_a, mail, "q1").in_inbox and _copies(org_a, mail, "d1").in_inbox


def test_a_member_who_may_read_but_not_change_a_mailbox_is_refused(
    org_a: Tenant, mail: InboxMail
) -> None:
    bob = client_of(org_a.member)

    listed = bob.get(reverse("inbox"))
    response = bob.post(
        reverse("inbox_thread_flag", args=[mail.digest.pk]),
        {"flag": "starred", "value": "1"},
        **htmx(f"inbox-row-{mail.digest.pk}"),
    )

    assert DIGEST in listed.content.decode()  # Alice's mailbox is visible to the team
    assert "data-inbox-star" not in listed.content.decode()
    assert response.status_code == 403
    assert not _copies(org_a, mail, "d1").is_starred


# --- the thread view -----------------------------------------------------------------------------


def test_opening_a_thread_shows_its_messages_and_marks_it_read(
    org_a: Tenant, mail: InboxMail
) -> None:
    response = client_of(org_a.owner).get(reverse("inbox_thread", args=[mail.quote.pk]))

    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    views = response.context["thread_messages"]
    assert [v.reading.message.subject for v in views] == [QUOTE, f"Re: {QUOTE}"]
    assert [v.expanded for v in views] == [True, False]  # the newest unread one is open
    first = views[0].reading.message
    assert f'src="/inbox/messages/{first.pk}/body/"' in page
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    attachment = views[0].attachments[0]
    assert attachment.kind == "pdf" and f'href="{attachment.preview_url}" target="_blank"' in page
    assert f'src="{attachment.thumbnail_url}"' in page
    assert f'href="{attachment.url}?download=1"' in page
    assert QUOTE_TEXT in page  # the summary line's snippet
    assert _copies(org_a, mail, "q1").is_read


def test_the_reading_pane_gets_the_thread_and_redraws_its_row_out_of_band(
    org_a: Tenant, mail: InboxMail
) -> None:
    response = client_of(org_a.owner).get(
        reverse("inbox_thread", args=[mail.quote.pk]), {"folder": "inbox"}, **htmx("inbox-reader")
    )

    page = response.content.decode()
    assert "<html" not in page and 'id="thread-actions"' in page
    row = f'id="inbox-row-{mail.quote.pk}" data-inbox-row data-thread="{mail.quote.pk}"'
    assert f'<li class="inbox-row" {row} hx-swap-oob="true">' in page  # read now
    assert 'id="inbox-folders" hx-swap-oob="true"' in page


def test_image_attachments_get_a_thumbnail(org_a: Tenant, mail: InboxMail) -> None:
    with org_a.scope():
        attachment = mail.messages(mail.quote)[0].attachments.get()
        attachment.content_type, attachment.filename = "image/png", "diagram.png"
        attachment.save(update_fields=["content_type", "filename"])

    page = client_of(org_a.owner).get(reverse("inbox_thread", args=[mail.quote.pk]))

    assert (
        '<img src="http://testserver/api/v1/integrations/email/messages/' in page.content.decode()
    )
    assert page.context["thread_messages"][0].attachments[0].kind == "image"


def test_starring_and_archiving_from_the_thread_view(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)
    url = reverse("inbox_thread_flag", args=[mail.quote.pk])
    reader = {"view": "reader", "folder": "inbox"}

    starred = alice.post(url, {**reader, "flag": "starred", "value": "1"}, **htmx("thread-actions"))
    archived = alice.post(
        url, {**reader, "flag": "archived", "value": "1"}, **htmx("thread-actions")
    )

    text = starred.content.decode()
    assert text.lstrip().startswith('<div class="thread__actions" id="thread-actions">')
    assert "Starred" in text and f'id="inbox-row-{mail.quote.pk}"' in text
    assert _copies(org_a, mail, "q2").is_starred
    gone = archived.content.decode()
    assert f'<li id="inbox-row-{mail.quote.pk}" hx-swap-oob="delete"></li>' in gone
    assert "Move to inbox" in gone and not _copies(org_a, mail, "q1").in_inbox


def test_linking_and_unlinking_records_from_the_thread_view(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)
    link, unlink = (
        reverse(name, args=[mail.digest.pk])
        for name in ("inbox_thread_link", "inbox_thread_unlink")
    )
    deal = f"deal:{mail.deal.pk}"

    found = alice.get(
        reverse("inbox_thread_search", args=[mail.digest.pk]), {"kind": "records", "q": "acme"}
    )
    linked = alice.post(link, {"entity": deal}, **htmx("thread-links"))
    with org_a.scope():
        assert ThreadLink.objects.filter(thread=mail.digest, deal=mail.deal).exists()
    unlinked = alice.post(unlink, {"entity": deal}, **htmx("thread-links"))

    assert {(kind, pk) for kind, _, pk, _ in found.context["found"]} >= {
        ("account", mail.account.pk),
        ("deal", mail.deal.pk),
    }
    assert "Acme launch deal" in linked.content.decode() and "<html" not in linked.content.decode()
    assert "Acme launch deal" not in unlinked.content.decode()
    with org_a.scope():
        assert not ThreadLink.objects.filter(thread=mail.digest, deal=mail.deal).exists()
        assert ThreadLinkSuppression.objects.filter(thread=mail.digest, deal=mail.deal).exists()


def test_linking_and_unlinking_a_task(org_a: Tenant, mail: InboxMail) -> None:
    alice = client_of(org_a.owner)

    offered = alice.get(reverse("inbox_thread_search", args=[mail.quote.pk]), {"kind": "tasks"})
    linked = alice.post(
        reverse("inbox_thread_task", args=[mail.quote.pk]),
        {"task": mail.task.pk},
        **htmx("thread-tasks"),
    )
    with org_a.scope():
        assert ThreadTask.objects.filter(thread=mail.quote, task=mail.task).exists()
    alice.post(
        reverse("inbox_thread_task_unlink", args=[mail.quote.pk]),
        {"task": mail.task.pk},
        **htmx("thread-tasks"),
    )

    assert mail.task in offered.context["found_tasks"]  # open tasks, without a query
    assert "Send the signed quote" in linked.content.decode()
    with org_a.scope():
        assert not ThreadTask.objects.filter(thread=mail.quote, task=mail.task).exists()


def test_assigning_a_conversation_to_a_teammate(org_a: Tenant, mail: InboxMail) -> None:
    stranger = UserFactory(email="stranger@elsewhere.test")
    alice = client_of(org_a.owner)
    url = reverse("inbox_thread_assign", args=[mail.quote.pk])

    assigned = alice.post(url, {"user": org_a.member.pk}, **htmx("thread-assign"))
    refused = alice.post(url, {"user": stranger.pk}, **htmx("thread-assign"))

    assert f'<option value="{org_a.member.pk}" selected>' in assigned.content.decode()
    assert "is not a member who may see this conversation" in refused.content.decode()
    with org_a.scope():
        mail.quote.refresh_from_db()
        assert mail.quote.assigned_to == org_a.member


# --- visibility ----------------------------------------------------------------------------------


@pytest.fixture
def erin(org_a: Tenant) -> User:
    """A plain member of A who owns no mailbox."""
    user = UserFactory(email="erin@alpha.test")
    MembershipFactory(user=user, organization=org_a.organization, role=Role.MEMBER)
    return user


def _visibility(org: Tenant, mailbox: Mailbox, visibility: str) -> None:
    with org.scope():
        mailbox.visibility = visibility
        mailbox.save(update_fields=["visibility"])


@pytest.mark.parametrize(
    ("visibility", "subject", "content"),
    [
        (Visibility.METADATA, False, False),
        (Visibility.SUBJECT, True, False),
        (Visibility.FULL, True, True),
    ],
)
def test_visibility_levels_hide_subject_and_content_in_list_and_thread(
    org_a: Tenant, mail: InboxMail, erin: User, visibility: str, subject: bool, content: bool
) -> None:
    _visibility(org_a, mail.mailbox, visibility)
    client = client_of(erin)

    listed = client.get(reverse("inbox")).content.decode()
    thread = client.get(reverse("inbox_thread", args=[mail.quote.pk])).content.decode()

    assert (QUOTE in listed) is subject and ("Subject hidden" in listed) is not subject
    assert ("Thanks, we will review it" in listed) is content
    assert (QUOTE_TEXT in thread) is content
    assert ("message-body__frame" in thread) is content
    assert ("quote.pdf" in thread) is content
    assert "Read only" in thread  # erin may read, not change


def test_a_private_mailbox_is_not_there_for_other_members(
    org_a: Tenant, mail: InboxMail, erin: User
) -> None:
    _visibility(org_a, mail.mailbox, Visibility.PRIVATE)
    client = client_of(erin)

    assert QUOTE not in client.get(reverse("inbox"), {"folder": "all"}).content.decode()
    assert client.get(reverse("inbox_thread", args=[mail.quote.pk])).status_code == 404
    assert client.get(reverse("inbox"), {"mailbox": mail.mailbox.pk}).status_code == 404


# --- another organization ------------------------------------------------------------------------


@pytest.mark.parametrize("name", THREAD_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_user_gets_a_404_on_the_thread_and_its_partials(
    org_a: Tenant, org_b: Tenant, mail: InboxMail, name: str, method: str
) -> None:
    charlie = client_of(org_b.owner)
    data = {
        "flag": "starred",
        "value": "1",
        "entity": f"contact:{mail.contact.pk}",
        "task": mail.task.pk,
        "user": org_b.owner.pk,
    }

    response = getattr(charlie, method)(
        reverse(name, args=[mail.quote.pk]), data, **htmx("inbox-reader")
    )

    assert response.status_code == 404
    assert QUOTE not in response.content.decode()


def test_another_organizations_user_cannot_change_threads_in_bulk_or_open_a_mailbox(
    org_a: Tenant, org_b: Tenant, mail: InboxMail
) -> None:
    charlie = client_of(org_b.owner)

    bulk = charlie.post(
        reverse("inbox_bulk"),
        {"threads": [mail.quote.pk], "action": "archive"},
        **htmx("inbox-list"),
    )
    page = charlie.get(reverse("inbox"), {"folder": "all"}).content.decode()

    assert QUOTE not in bulk.content.decode() and QUOTE not in page
    assert _copies(org_a, mail, "q1").in_inbox
    assert charlie.get(reverse("inbox"), {"mailbox": mail.mailbox.pk}).status_code == 404


# --- the Emails tab ------------------------------------------------------------------------------


def test_the_emails_tab_of_a_contact_uses_the_inbox_row(org_a: Tenant, mail: InboxMail) -> None:
    response = client_of(org_a.owner).get(
        reverse("contact_emails", args=[mail.contact.pk]), **htmx("emails-list")
    )

    page = response.content.decode()
    assert 'class="inbox-row' in page
    assert f'href="{reverse("inbox_thread", args=[mail.quote.pk])}"' in page
    assert "data-inbox-check" not in page  # no bulk selection outside the Inbox
