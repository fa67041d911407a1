"""The current organization, the fail-closed tenant manager, and PostgreSQL row-level security.

Two walls keep tenants apart:

1. The ORM: every ``TenantOwned`` model's default manager filters by the organization in the
   current context and *raises* when there is none. Cross-tenant code says so explicitly with
   ``Model.objects.unscoped()`` inside ``all_tenants()`` — grep for those two names.
2. PostgreSQL: forced row-level security on every tenant table. The policy compares
   ``organization_id`` with the ``app.organization_id`` setting, which ``tenant_context`` sets with
   ``set_config(..., is_local => true)`` (``SET LOCAL``) inside the request or task transaction.
   No setting means zero rows. On SQLite the second wall does not exist and these calls do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, models, router, transaction
from django.db.migrations.operations.base import Operation

if TYPE_CHECKING:
    from crm.models import Organization

_current_organization: ContextVar[Organization | None] = ContextVar(
    "current_organization", default=None
)
_all_tenants: ContextVar[bool] = ContextVar("all_tenants", default=False)

ORGANIZATION_SETTING = "app.organization_id"
ALL_TENANTS_SETTING = "app.all_tenants"


class NoOrganizationContext(RuntimeError):
    """A tenant-owned model was queried with no organization in context."""


def current_organization() -> Organization:
    organization = _current_organization.get()
    if organization is None:
        raise NoOrganizationContext("No organization in context.")
    return organization


def current_organization_or_none() -> Organization | None:
    return _current_organization.get()


def _is_postgres(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def _db_set(name: str, value: str, using: str = "default") -> None:
    """Set a PostgreSQL setting for this transaction, or for the session when none is open.

    Inside an atomic block this is ``SET LOCAL``; outside one (a task that commits batch by
    batch) it is session-wide, and ``tenant_context`` always restores the previous value.
    """
    if not _is_postgres(using):
        return
    connection = connections[using]
    is_local = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, %s)", [name, value, is_local])


def _db_restore(name: str, value: str) -> None:
    """Put a setting back; a transaction already broken by an error drops SET LOCAL anyway."""
    connection = connections["default"]
    if connection.connection is None or connection.needs_rollback:
        return
    try:
        _db_set(name, value)
    except DatabaseError:
        if not connection.in_atomic_block:
            raise


@contextmanager
def tenant_context(organization: Organization | None) -> Iterator[None]:
    """Run the block as ``organization`` (or as nobody), restoring the previous state after."""
    previous = _current_organization.get()
    token = _current_organization.set(organization)
    _db_set(ORGANIZATION_SETTING, str(organization.pk) if organization else "")
    try:
        yield
    finally:
        _current_organization.reset(token)
        _db_restore(ORGANIZATION_SETTING, str(previous.pk) if previous else "")


@contextmanager
def transaction_tenant(organization: Organization | None) -> Iterator[None]:
    """``tenant_context`` for a block its transaction ends right after (a web request's, in the
    transaction the request opened): the setting is ``SET LOCAL`` and goes with the transaction,
    so it is set (one query) and not restored; only the context variable is."""
    connection = connections["default"]
    if _is_postgres() and not connection.in_atomic_block:
        raise RuntimeError("transaction_tenant needs the transaction it lives in.")
    token = _current_organization.set(organization)
    _db_set(ORGANIZATION_SETTING, str(organization.pk) if organization else "")
    try:
        yield
    finally:
        _current_organization.reset(token)


@contextmanager
def tenant_atomic(organization: Organization) -> Iterator[None]:
    """A transaction that runs as ``organization``: the unit of work for tasks that commit often.

    As the outermost block, its ``SET LOCAL`` ends with the transaction: set, never restored
    (one query per transaction, not two). Nested in a transaction, it restores on exit."""
    scope = transaction_tenant if not connections["default"].in_atomic_block else tenant_context
    with transaction.atomic(), scope(organization):
        yield


@contextmanager
def all_tenants() -> Iterator[None]:
    """The explicit cross-tenant escape (admin, beat scheduling, token lookup, migrations).

    Lets ``unscoped()`` querysets see every tenant's rows on PostgreSQL too.
    """
    previous = _all_tenants.get()
    token = _all_tenants.set(True)
    _db_set(ALL_TENANTS_SETTING, "on")
    try:
        yield
    finally:
        _all_tenants.reset(token)
        _db_restore(ALL_TENANTS_SETTING, "on" if previous else "")


def in_all_tenants() -> bool:
    return _all_tenants.get()


M = TypeVar("M", bound=models.Model)


class _NoOrganization(models.Expression):
    """A WHERE condition that refuses to compile: querysets built without a tenant never run.

    Raising at SQL compile time (not at construction) lets libraries that introspect
    ``Model._default_manager.all().query`` at import time keep working, while any query that
    would actually touch the table still fails closed.
    """

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, model_name: str) -> None:
        super().__init__()
        self.model_name = model_name

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        raise NoOrganizationContext(
            f"{self.model_name} queried with no organization in context; use "
            "tenant_context(...) or, for cross-tenant code, unscoped() in all_tenants()."
        )


class TenantManager(models.Manager[M], Generic[M]):
    """Fails closed: a queryset built with no organization in context raises when it runs."""

    def get_queryset(self) -> models.QuerySet[M]:
        organization = _current_organization.get()
        if organization is None:
            return super().get_queryset().filter(_NoOrganization(self.model.__name__))
        return super().get_queryset().filter(organization_id=organization.pk)

    def unscoped(self) -> models.QuerySet[M]:
        """Every tenant's rows. Cross-tenant code only (admin, scheduler); easy to grep."""
        return super().get_queryset()

    def create(self, **kwargs: Any) -> M:
        if "organization" not in kwargs and "organization_id" not in kwargs:
            kwargs["organization"] = current_organization()
        return super().create(**kwargs)


def organization_field(
    *, db_index: bool = True, db_constraint: bool = True
) -> models.ForeignKey[Any, Any]:
    """The tenant key. A high-volume model whose own indexes all lead with it (so they serve
    every lookup by organization) passes ``db_index=False``: one index less to write per row.

    A table a mail sync fills by the thousand passes ``db_constraint=False``: on PostgreSQL its
    row-level security policy already admits only the current organization's id on every
    write (``WITH CHECK``), so a foreign-key check per row at each commit only repeats it.
    Deleting an organization still deletes its rows (Django's collector cascades)."""
    return models.ForeignKey(
        "crm.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=db_index,
        db_constraint=db_constraint,
    )


class TenantOwned(models.Model):
    """Base of every model that belongs to one organization."""

    organization = organization_field()

    objects: TenantManager[Any] = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.organization_id is None:
            self.organization = current_organization()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Every tenant record this one points at belongs to the same organization."""
        super().clean()
        organization_id = self.organization_id or current_organization().pk
        for field in self._meta.concrete_fields:
            related = field.related_model
            if not (
                field.many_to_one and isinstance(related, type) and issubclass(related, TenantOwned)
            ):
                continue
            related_id = getattr(self, field.attname)
            if related_id is None:
                continue
            found = related._base_manager.filter(pk=related_id, organization_id=organization_id)
            if not found.exists():
                raise ValidationError({field.name: f"{related._meta.verbose_name} not found."})


# Each setting is read in a sub-select: PostgreSQL evaluates it once per statement (an InitPlan)
# instead of once per row it inserts or reads.
RLS_CONDITION = (
    f"(organization_id = (SELECT NULLIF(current_setting('{ORGANIZATION_SETTING}', true), '')"
    f"::bigint) OR (SELECT coalesce(current_setting('{ALL_TENANTS_SETTING}', true), '') = 'on'))"
)


def rls_policy_sql(table: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'CREATE POLICY tenant_isolation ON "{table}" '
        f"USING {RLS_CONDITION} WITH CHECK {RLS_CONDITION}",
    ]


class EnableRowLevelSecurity(Operation):
    """Migration operation: forced RLS on a tenant model's table (PostgreSQL only)."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not router.allow_migrate_model(schema_editor.connection.alias, model):
            return
        for statement in rls_policy_sql(model._meta.db_table):
            schema_editor.execute(statement)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        schema_editor.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
        schema_editor.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        schema_editor.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')

    def describe(self) -> str:
        return f"Enable forced row-level security on {self.model_name}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return ("crm.tenancy.EnableRowLevelSecurity", [], {"model_name": self.model_name})
