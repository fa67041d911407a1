"""The four CRM record types as the web UI shows them, and marking a task done inline."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.models import Account, Contact, Deal, Task, TaskStatus
from crm.web.access import is_htmx, member_required, safe_next
from crm.web.forms import AccountForm, ContactForm, DealForm, TaskForm
from crm.web.listing import Column
from crm.web.records import Resource

CONTACTS = Resource(
    name="contact",
    plural="contacts",
    label="Contact",
    model=Contact,
    queryset=selectors.contact_queryset,
    search=selectors.contact_search,
    save=services.contact_save,
    form_class=ContactForm,
    columns=(
        Column("name", "Name", ("last_name", "first_name")),
        Column("email", "E-mail"),
        Column("account", "Account", ("account__name",)),
        Column("title", "Job title", ("title",), css="hide-md"),
        Column("owner", "Owner", css="hide-md"),
        Column("created", "Added", ("created_at",), css="hide-md"),
    ),
    default_sort="name",
    filters=("owner", "account", "deal"),
    related=selectors.related_to_contact,
    empty_hint="Add the people you sell to: their e-mail addresses link them to their company.",
)

ACCOUNTS = Resource(
    name="account",
    plural="accounts",
    label="Account",
    model=Account,
    queryset=selectors.account_queryset,
    search=selectors.account_search,
    save=services.account_save,
    form_class=AccountForm,
    columns=(
        Column("name", "Name", ("name",)),
        Column("domains", "Domains"),
        Column("industry", "Industry", ("industry",), css="hide-md"),
        Column("contacts", "Contacts", ("contact_count",), css="num"),
        Column("owner", "Owner", css="hide-md"),
        Column("created", "Added", ("created_at",), css="hide-md"),
    ),
    default_sort="name",
    filters=("owner",),
    related=selectors.related_to_account,
    empty_hint="Accounts are the companies you sell to; their domains match people to them.",
)

DEALS = Resource(
    name="deal",
    plural="deals",
    label="Deal",
    model=Deal,
    queryset=selectors.deal_queryset,
    search=selectors.deal_search,
    save=services.deal_save,
    form_class=DealForm,
    columns=(
        Column("name", "Name", ("name",)),
        Column("account", "Account", ("account__name",)),
        Column("stage", "Stage"),
        Column("amount", "Amount", ("amount",), css="num"),
        Column("close", "Close date", ("close_date",), css="hide-md"),
        Column("owner", "Owner", css="hide-md"),
        Column("created", "Created", ("created_at",), css="hide-md"),
    ),
    default_sort="-created",
    filters=("stage", "owner", "account", "contact"),
    related=selectors.related_to_deal,
    empty_hint="Track each opportunity from first lead to won or lost.",
)

TASKS = Resource(
    name="task",
    plural="tasks",
    label="Task",
    model=Task,
    queryset=selectors.task_queryset,
    search=selectors.task_search,
    save=services.task_save,
    form_class=TaskForm,
    columns=(
        Column("done", "", css="col-check"),
        Column("title", "Task", ("title",)),
        Column("due", "Due", ("due_at",)),
        Column("assignee", "Assignee"),
        Column("related", "Related to", css="hide-md"),
    ),
    default_sort="due",
    filters=("status", "assignee", "account", "contact", "deal"),
    empty_hint="Follow-ups for you and your team, linked to contacts, accounts and deals.",
)

RESOURCES = (CONTACTS, ACCOUNTS, DEALS, TASKS)


@member_required
@require_POST
def task_set_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done or open again; htmx gets the task's row back, others a redirect."""
    task = get_object_or_404(selectors.task_queryset(), pk=pk)
    status = request.POST.get("status", "")
    if status in TaskStatus.values:
        task = services.task_save(task=task, status=status)
    if is_htmx(request):
        return render(request, "crm/tasks/_row.html", {"task": task, "now": timezone.now()})
    return redirect(safe_next(request, reverse("task_detail", args=[task.pk]), referer=True))
