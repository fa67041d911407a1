"""List, detail, create, edit and delete pages, shared by contacts, accounts, deals and tasks.

Each record type is a ``Resource`` (see ``crm.web.resources``); the views here are the same for
all four. Objects are fetched through the tenant-scoped default managers, so another
organization's record is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from crm import selectors, services
from crm.models import DealStage, TaskStatus
from crm.web.access import (
    acting_membership,
    acting_user,
    add_service_errors,
    is_htmx,
    member_required,
)
from crm.web.forms import RecordForm
from crm.web.listing import (
    LIMIT_CHOICES,
    Column,
    header_cells,
    list_params,
    paginate,
    sorted_queryset,
)

RESULTS_TARGET = "results"


@dataclass(frozen=True)
class Resource:
    """One record type as the web UI shows it."""

    name: str  # "contact": URL names, service argument, template folder (plural)
    plural: str
    label: str
    model: type[models.Model]
    queryset: Callable[[], models.QuerySet[Any]]
    search: Callable[..., models.QuerySet[Any]]
    save: Callable[..., Any]
    form_class: type[RecordForm]
    columns: tuple[Column, ...]
    default_sort: str
    filters: tuple[str, ...]
    related: Callable[[Any], dict[str, Any]] | None = None
    empty_hint: str = ""

    @property
    def label_plural(self) -> str:
        return f"{self.label}s"

    def url_name(self, action: str) -> str:
        return f"{self.name}_{action}"

    # Templates cannot pass arguments, hence one property per route.
    @property
    def url_list(self) -> str:
        return self.url_name("list")

    @property
    def url_create(self) -> str:
        return self.url_name("create")

    @property
    def url_detail(self) -> str:
        return self.url_name("detail")

    @property
    def url_edit(self) -> str:
        return self.url_name("edit")

    @property
    def url_delete(self) -> str:
        return self.url_name("delete")

    def template(self, name: str) -> str:
        return f"crm/{self.plural}/{name}"


def _context(resource: Resource, **extra: Any) -> dict[str, Any]:
    return {
        "resource": resource,
        "nav": resource.plural,
        "list_url": reverse(resource.url_name("list")),
        "now": timezone.now(),  # task rows mark overdue tasks
        **extra,
    }


@member_required
def record_list(request: HttpRequest, resource: Resource) -> HttpResponse:
    params = list_params(
        request,
        columns=resource.columns,
        default_sort=resource.default_sort,
        filters=resource.filters,
    )
    found = resource.search(q=params.q, filters=params.filters, user=acting_user(request))
    page = paginate(sorted_queryset(found, columns=resource.columns, sort=params.sort), params)
    context = _context(
        resource,
        page_obj=page,
        params=params,
        headers=header_cells(resource.columns, params.sort),
        subjects=[
            (label, _query_without(request, param))
            for param, label in selectors.filter_subjects(filters=params.filters)
        ],
        limit_choices=LIMIT_CHOICES,
        members=selectors.member_users(organization=acting_membership(request).organization),
        stages=DealStage.choices,
        statuses=TaskStatus.choices,
        table_template=resource.template("_table.html"),
        filters_template=resource.template("_filters.html"),
    )
    partial = is_htmx(request, RESULTS_TARGET)
    template = resource.template("_table.html") if partial else "crm/records/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _query_without(request: HttpRequest, param: str) -> str:
    """This list's query string without ``param`` (and back on page one)."""
    query = request.GET.copy()
    for name in (param, "page"):
        query.pop(name, None)
    return f"?{query.urlencode()}"


@member_required
def record_detail(request: HttpRequest, resource: Resource, pk: int) -> HttpResponse:
    record = get_object_or_404(resource.queryset(), pk=pk)
    related = resource.related(record) if resource.related else {}
    return render(
        request, resource.template("detail.html"), _context(resource, record=record, **related)
    )


def _save(resource: Resource, form: RecordForm, record: Any | None) -> Any | None:
    """Run the resource's save service; None (with errors on the form) when it refuses."""
    if not form.is_valid():
        return None
    arguments = form.service_kwargs()
    if record is not None:
        arguments[resource.name] = record
    try:
        return resource.save(**arguments)
    except ValidationError as error:
        add_service_errors(form, error)
        return None


def _form_page(
    request: HttpRequest, resource: Resource, *, record: Any | None, initial: dict[str, Any]
) -> HttpResponse:
    """The create (``record`` None) or edit form; a saved record goes to its page."""
    form = resource.form_class(
        request.POST if request.method == "POST" else None,
        initial=initial,
        organization=acting_membership(request).organization,
    )
    if request.method == "POST":
        saved = _save(resource, form, record)
        if saved is not None:
            done = "created" if record is None else "saved"
            messages.success(request, f"{resource.label} “{saved}” {done}.")
            return redirect(resource.url_name("detail"), pk=saved.pk)
    return render(request, "crm/records/form.html", _context(resource, form=form, record=record))


@member_required
def record_create(request: HttpRequest, resource: Resource) -> HttpResponse:
    # "New task" from a contact's page arrives as /tasks/new/?contact=12.
    prefill = {k: v for k, v in request.GET.items() if k in resource.form_class.base_fields}
    return _form_page(request, resource, record=None, initial=prefill)


@member_required
def record_edit(request: HttpRequest, resource: Resource, pk: int) -> HttpResponse:
    record = get_object_or_404(resource.model._default_manager, pk=pk)
    initial = resource.form_class.initial_from(record)
    return _form_page(request, resource, record=record, initial=initial)


@member_required
def record_delete_confirm(request: HttpRequest, resource: Resource, pk: int) -> HttpResponse:
    record = get_object_or_404(resource.model._default_manager, pk=pk)
    if request.method == "POST":
        name = str(record)
        services.record_delete(record=record)
        messages.success(request, f"{resource.label} “{name}” deleted.")
        return redirect(resource.url_name("list"))
    return render(request, "crm/records/confirm_delete.html", _context(resource, record=record))


def record_urls(resource: Resource) -> list[URLPattern]:
    """The five routes of a record type: list, new, detail, edit, delete."""
    prefix, kwargs = resource.plural, {"resource": resource}
    return [
        path(f"{prefix}/", record_list, kwargs, name=resource.url_name("list")),
        path(f"{prefix}/new/", record_create, kwargs, name=resource.url_name("create")),
        path(f"{prefix}/<int:pk>/", record_detail, kwargs, name=resource.url_name("detail")),
        path(f"{prefix}/<int:pk>/edit/", record_edit, kwargs, name=resource.url_name("edit")),
        path(
            f"{prefix}/<int:pk>/delete/",
            record_delete_confirm,
            kwargs,
            name=resource.url_name("delete"),
        ),
    ]
