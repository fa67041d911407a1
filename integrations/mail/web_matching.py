"""Web UI of CRM matching: the Emails tab of contacts, accounts and deals, and Settings →
Blocklist. Mounted by ``crm/urls.py``; records are fetched through the tenant-scoped managers, so
another organization's record is a 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from crm.models import Account, Contact, Deal
from crm.web.access import (
    acting_membership,
    acting_user,
    add_service_errors,
    admin_required,
    is_htmx,
    member_required,
)
from integrations.mail.blocklist import (
    blocklist_entries,
    blocklist_entry_add,
    blocklist_entry_remove,
    blocklist_value_normalize,
)
from integrations.mail.models import BlocklistEntry
from integrations.mail.selectors_threads import threads_for_entity

# kind → (model, URL prefix, nav key)
ENTITY_KINDS: dict[str, tuple[type[Contact | Account | Deal], str, str]] = {
    "contact": (Contact, "contacts", "contacts"),
    "account": (Account, "accounts", "accounts"),
    "deal": (Deal, "deals", "deals"),
}
EMAILS_TARGET = "emails-list"
BLOCKLIST_PAGE_SIZE = 50


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


@member_required
def entity_emails(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The Emails tab: the threads linked to a record, as the person may see them. The detail
    page loads it with htmx; without JavaScript the link opens it as a page."""
    model, prefix, nav = ENTITY_KINDS[kind]
    record: Contact | Account | Deal = get_object_or_404(model.objects.all(), pk=pk)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    threads = threads_for_entity(
        entity=record, user=acting_user(request), page=_page_number(request)
    )
    context = {
        "nav": nav,
        "record": record,
        "kind": kind,
        "threads": threads,
        "emails_url": reverse(f"{kind}_emails", args=[record.pk]),
        "detail_url": reverse(f"{kind}_detail", args=[record.pk]),
        "list_url": reverse(f"{kind}_list"),
        "label_plural": prefix.capitalize(),
    }
    partial = is_htmx(request, EMAILS_TARGET)
    response = render(
        request, "mail/_emails_list.html" if partial else "mail/entity_emails.html", context
    )
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


class BlocklistForm(forms.Form):
    value = forms.CharField(
        label="Address or domain",
        max_length=254,
        help_text="jane@example.com blocks one address; @example.com blocks a domain and its "
        "subdomains.",
        widget=forms.TextInput(attrs={"placeholder": "@newsletter.example.com"}),
    )

    def clean_value(self) -> str:
        return blocklist_value_normalize(self.cleaned_data["value"])


@member_required
def blocklist(request: HttpRequest) -> HttpResponse:
    """Settings → Blocklist: everyone sees it; owners and admins add entries (POST)."""
    is_admin = acting_membership(request).is_admin
    form = BlocklistForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only owners and admins can change the blocklist.")
        if form.is_valid():
            try:
                added = blocklist_entry_add(
                    value=form.cleaned_data["value"], user=acting_user(request)
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _added_message(added.entry.value, added.created, added.purged)
                )
                return redirect("blocklist")
    page = Paginator(blocklist_entries(), BLOCKLIST_PAGE_SIZE).get_page(_page_number(request))
    context: dict[str, Any] = {
        "nav": "settings",
        "page_obj": page,
        "form": form,
        "is_admin": is_admin,
    }
    return render(request, "mail/blocklist.html", context)


def _added_message(value: str, created: bool, purged: int) -> str:
    lead = f"{value} is blocked." if created else f"{value} was already blocked."
    deleted = f"{purged} synced message{pluralize(purged)} deleted"
    return f"{lead} {deleted}; new mail with it will not be synced."


@admin_required
@require_POST
def blocklist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(BlocklistEntry.objects.all(), pk=pk)
    blocklist_entry_remove(entry=entry)
    messages.success(
        request, f"{entry.value} is no longer blocked. Mail that was deleted stays deleted."
    )
    return redirect("blocklist")


urlpatterns: list[URLPattern] = [
    *(
        path(f"{prefix}/<int:pk>/emails/", entity_emails, {"kind": kind}, name=f"{kind}_emails")
        for kind, (_, prefix, _) in ENTITY_KINDS.items()
    ),
    path("settings/blocklist/", blocklist, name="blocklist"),
    path("settings/blocklist/<int:pk>/remove/", blocklist_remove, name="blocklist_remove"),
]
