"""``seed_demo`` (idempotent demo data), the demo's sandbox set-up, and ``demo`` (the supervisor
behind README command 1)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.test import Client
from django.utils import timezone

from crm import demo_data
from crm.demo_sandbox import demo_sandbox_provision
from crm.management.commands.seed_demo import deal_plans, seed_demo, task_plans
from crm.models import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    Deal,
    DealContact,
    DealStage,
    Membership,
    Organization,
    Role,
    Task,
    TaskStatus,
    User,
)
from crm.services import account_save
from crm.tenancy import TenantOwned, all_tenants, tenant_context
from integrations.providers.sandbox_settings import (
    SANDBOX_GOOGLE_CLIENT,
    SANDBOX_MICROSOFT_APP,
    callback_urls,
)
from integrations.sandbox.client import SandboxClient, SandboxError

TENANT_MODELS: list[type[TenantOwned]] = [
    Account, AccountDomain, Contact, ContactEmail, Deal, DealContact, Task
]  # fmt: skip
PEOPLE = [person for company in demo_data.DEMO_COMPANIES for person in company.people]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def demo_organization() -> Organization:
    return Organization.objects.get(slug=demo_data.DEMO_ORGANIZATION_SLUG)


def counts() -> dict[str, int]:
    with all_tenants():
        tenant = {m.__name__: m.objects.unscoped().count() for m in TENANT_MODELS}
    return {
        **tenant,
        "Organization": Organization.objects.count(),
        "User": User.objects.count(),
        "Membership": Membership.objects.count(),
    }


# --- seed_demo ----------------------------------------------------------------------------------


def test_seed_demo_creates_the_organization_its_team_and_a_full_pipeline(db: None) -> None:
    output = seed()

    organization = demo_organization()
    assert organization.name == "Acme Sales"
    assert organization.email_domains == ["acme-sales-emea.test", "acme-sales.test"]
    roles = {m.user.email: m.role for m in organization.memberships.select_related("user")}
    assert roles == {
        "demo@liaison.test": Role.OWNER,
        "priya.raman@acme-sales.test": Role.ADMIN,
        "marcus.oyelaran@acme-sales.test": Role.MEMBER,
    }
    assert f"password {demo_data.DEFAULT_DEMO_PASSWORD}" in output
    with tenant_context(organization):
        assert Account.objects.count() == 15
        assert Contact.objects.count() == len(PEOPLE) == 50
        assert ContactEmail.objects.count() == sum(len(p.emails) for p in PEOPLE)
        assert Contact.objects.annotate(n=models.Count("emails")).filter(n=2).count() >= 3
        assert not Contact.objects.filter(phones=[]).exists()
        assert Deal.objects.count() == 20
        assert set(Deal.objects.values_list("stage", flat=True)) == set(DealStage.values)
        assert not Deal.objects.filter(amount__isnull=True).exists()
        assert DealContact.objects.count() >= 20
        assert Task.objects.count() == 25
        done = Task.objects.filter(status=TaskStatus.DONE)
        assert done.count() > 0 and not done.filter(completed_at__isnull=True).exists()
        assert Task.objects.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now()).exists()
        assert Task.objects.filter(status=TaskStatus.OPEN, due_at__gt=timezone.now()).exists()
        assert Task.objects.filter(deal__isnull=False).exists()
        assert Task.objects.values("assignee").distinct().count() == 3


def test_seed_demo_twice_creates_nothing_new(db: None) -> None:
    seed()
    first = counts()
    with tenant_context(demo_organization()):
        updated = sorted(Deal.objects.values_list("pk", "updated_at"))

    output = seed()

    assert counts() == first
    with tenant_context(demo_organization()):
        assert sorted(Deal.objects.values_list("pk", "updated_at")) == updated
    assert "created 0 users, 0 accounts, 0 contacts, 0 deals, 0 tasks" in output


def test_seed_demo_adds_only_what_was_deleted(db: None) -> None:
    seed()
    first = counts()
    with tenant_context(demo_organization()):
        Task.objects.filter(status=TaskStatus.DONE).delete()
        Deal.objects.filter(stage=DealStage.WON).delete()

    seed()

    assert counts() == first


def test_seed_demo_on_a_later_day_creates_nothing_new(db: None) -> None:
    seed_demo(today=date(2025, 3, 14))
    first = counts()

    seed_demo(today=date(2025, 9, 1))

    assert counts() == first


def test_demo_user_logs_in_with_the_printed_password(db: None, client: Client) -> None:
    output = seed()
    printed = re.search(r"password (\S+)", output)
    assert printed is not None
    password = printed.group(1)

    response = client.post(
        "/auth/login/", {"login": demo_data.DEMO_OWNER_EMAIL, "password": password}
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.session["_auth_user_id"] == str(User.objects.get(email="demo@liaison.test").pk)


def test_seed_demo_takes_the_password_from_the_environment(
    db: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed()
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-secret")

    output = seed()

    assert "password another-demo-secret" in output
    assert client.login(email="priya.raman@acme-sales.test", password="another-demo-secret")


def test_seed_demo_adds_the_sandbox_mailbox_domains_to_an_older_demo_organization(
    db: None,
) -> None:
    seed()
    organization = demo_organization()
    organization.email_domains = ["acme-sales.test", "acme.example.test"]  # edited by the user
    organization.save(update_fields=["email_domains"])

    seed()

    organization.refresh_from_db()
    assert organization.email_domains == [
        "acme-sales-emea.test",
        "acme-sales.test",
        "acme.example.test",
    ]


def test_every_seeded_record_belongs_to_the_demo_organization(db: None) -> None:
    other = Organization.objects.create(name="Other", slug="other")
    with tenant_context(other):  # the same company, known to another tenant
        account_save(name="Northwind Traders", domains=["northwind-traders.test"])

    seed()

    organization = demo_organization()
    with all_tenants():
        for model in TENANT_MODELS:
            rows = model.objects.unscoped().exclude(organization=other)
            assert rows.exists(), model.__name__
            assert set(rows.values_list("organization_id", flat=True)) == {organization.pk}
        assert Account.objects.unscoped().filter(organization=other).count() == 1
    with tenant_context(organization):
        assert Account.objects.count() == 15
    assert not other.memberships.exists()


def test_demo_data_uses_only_test_domains() -> None:
    addresses = [address for person in PEOPLE for address in person.emails]
    mailboxes = [mailbox.email for mailbox in demo_data.DEMO_MAILBOXES]
    assert {m.split("@")[1] for m in mailboxes} == set(demo_data.DEMO_EMAIL_DOMAINS)
    domains = [d for company in demo_data.DEMO_COMPANIES for d in company.domains]
    domains += [teammate.email.split("@")[1] for teammate in demo_data.DEMO_TEAM]
    domains += demo_data.DEMO_EMAIL_DOMAINS
    assert all(domain.endswith(".test") for domain in domains)
    assert all(address.split("@")[1] in domains for address in addresses)
    assert len(set(addresses)) == len(addresses)


def test_the_plan_is_the_same_for_the_same_day() -> None:
    today = date(2025, 3, 14)

    def plan() -> tuple[object, object]:
        rng = random.Random(demo_data.DEMO_RANDOM_SEED)
        deals = deal_plans(rng, today)
        return deals, task_plans(rng, today, deals)

    assert plan() == plan()


def test_seed_demo_refuses_to_run_with_debug_off_unless_forced(db: None) -> None:
    assert settings.DEBUG is False  # as pytest-django runs tests
    with pytest.raises(CommandError, match="published password"):
        call_command("seed_demo", stdout=StringIO())
    assert not Organization.objects.exists()


# --- the demo's sandbox ---------------------------------------------------------------------------

DEMO_SITE = "http://127.0.0.1:8000"
DANA_GOOGLE = "dana.whitfield@acme-sales.test"
DANA_MICROSOFT = "dana.whitfield@acme-sales-emea.test"
SHARED_MAILBOX = "sales@acme-sales-emea.test"
CUSTOMER_DOMAINS = {d for company in demo_data.DEMO_COMPANIES for d in company.domains}


def sandbox_directory(sandbox: SandboxClient) -> dict[str, dict]:
    """Every sandbox mailbox by address: Google users and Microsoft users alike."""
    google = {user["email"]: user for user in sandbox.google.users()["users"]}
    microsoft = sandbox.call("GET", "/microsoft/users")["users"]
    return {**google, **{user["userPrincipalName"]: user for user in microsoft}}


def message_id_domains(message_ids: list[str]) -> set[str]:
    """The domains of RFC Message-IDs: the generator names the sender's domain there."""
    return {m.rstrip(">").rsplit("@", 1)[1] for m in message_ids if m and "@" in m}


def test_sandbox_provision_creates_the_team_mailboxes_full_of_mail_with_the_demo_customers(
    sandbox: SandboxClient,
) -> None:
    changes = demo_sandbox_provision(client=sandbox, site_url=DEMO_SITE)

    directory = sandbox_directory(sandbox)
    assert set(directory) == {mailbox.email for mailbox in demo_data.DEMO_MAILBOXES}
    for mailbox in demo_data.DEMO_MAILBOXES:
        assert directory[mailbox.email]["messages"] == mailbox.messages, mailbox.email
    shared = directory[SHARED_MAILBOX]
    assert shared["shared"] is True
    assert {directory[DANA_MICROSOFT]["id"]} < set(shared["delegates"])
    assert 0 < directory[DANA_MICROSOFT]["events"] <= 30
    tenant = sandbox.microsoft.tenants()["tenants"][0]
    assert (tenant["tenant_id"], tenant["domain"]) == (
        demo_data.DEMO_MICROSOFT_TENANT_ID,
        "acme-sales-emea.test",
    )
    gmail = sandbox.google.messages(DANA_GOOGLE)["messages"]
    outlook = sandbox.microsoft.messages(DANA_MICROSOFT)["messages"]
    assert len(message_id_domains([m["rfc822msgid"] for m in gmail]) & CUSTOMER_DOMAINS) >= 10
    assert (
        len(message_id_domains([m["internetMessageId"] for m in outlook]) & CUSTOMER_DOMAINS) >= 10
    )
    assert f"filled {DANA_GOOGLE} with 400 messages and 40 events" in changes


def test_sandbox_provision_registers_the_apps_for_the_demo_callbacks(
    sandbox: SandboxClient,
) -> None:
    demo_sandbox_provision(client=sandbox, site_url=DEMO_SITE)

    callbacks = callback_urls(DEMO_SITE)
    google = {c["client_id"]: c for c in sandbox.call("GET", "/google/clients")["clients"]}
    microsoft = {a["client_id"]: a for a in sandbox.call("GET", "/microsoft/apps")["apps"]}
    assert google[SANDBOX_GOOGLE_CLIENT[0]]["client_secret"] == SANDBOX_GOOGLE_CLIENT[1]
    assert google[SANDBOX_GOOGLE_CLIENT[0]]["redirect_uris"] == [callbacks["google"]]
    assert microsoft[SANDBOX_MICROSOFT_APP[0]]["redirect_uris"] == [callbacks["microsoft"]]


def test_sandbox_provision_a_second_time_changes_nothing(sandbox: SandboxClient) -> None:
    demo_sandbox_provision(client=sandbox, site_url=DEMO_SITE)
    before = sandbox_directory(sandbox)

    changes = demo_sandbox_provision(client=sandbox, site_url=DEMO_SITE)

    assert changes == []
    assert sandbox_directory(sandbox) == before


def test_sandbox_provision_on_another_port_only_registers_the_apps_again(
    sandbox: SandboxClient,
) -> None:
    demo_sandbox_provision(client=sandbox, site_url=DEMO_SITE)
    before = sandbox_directory(sandbox)

    changes = demo_sandbox_provision(client=sandbox, site_url="http://127.0.0.1:9000")

    # The two OAuth apps and the Gmail push topic follow the site to its new address.
    assert len(changes) == 3 and all(c.startswith("registered the ") for c in changes)
    assert all("127.0.0.1:9000/api/v1/integrations/" in c for c in changes)
    assert sandbox_directory(sandbox) == before


@pytest.mark.parametrize(
    "companies",
    [
        [],
        [{"name": "Northwind", "domain": "northwind.test", "people": []}],
        [{"name": "Northwind", "domain": "northwind.test", "people": [{"name": "Ana"}]}],
        [{"name": "", "domain": "northwind.test", "people": [{"name": "A", "email": "a@n.test"}]}],
        "Northwind",
    ],
)
def test_fill_refuses_malformed_companies_and_fills_nothing(
    sandbox: SandboxClient, companies: object
) -> None:
    sandbox.google.create_user("ana@acme.test", "Ana")
    tenant = sandbox.microsoft.create_tenant("acme-emea.test", "Acme EMEA")
    sandbox.microsoft.create_user(tenant["tenant_id"], "ana@acme-emea.test", "Ana")

    for control, who in [
        (sandbox.google, "ana@acme.test"),
        (sandbox.microsoft, "ana@acme-emea.test"),
    ]:
        with pytest.raises(SandboxError) as refused:
            control._call(
                "POST", f"/users/{who}/fill", json={"seed": 1, "count": 5, "companies": companies}
            )
        assert refused.value.status == 400
        assert "companies" in refused.value.body
        assert control.messages(who)["messages"] == []


# --- demo: the supervisor -----------------------------------------------------------------------

STARTED = re.compile(r"started (\w+) \(pid (\d+)\)")
READY_TIMEOUT = 45.0
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore $HTTP_PROXY


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def live_processes_in_groups(groups: set[int]) -> list[int]:
    """Pids of processes (zombies excepted) whose process group is one of ``groups``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) in groups and state != "Z":
            alive.append(int(entry.name))
    return alive


class DemoRun:
    """``manage.py demo`` in a subprocess, its output collected line by line."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port, self.sandbox_port = free_port(), free_port()
        env = {
            **os.environ,
            "LIAISON_VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'liaison.sqlite3'}",
            "DATABASE_MIGRATE_URL": "",
            "CELERY_BROKER_URL": "filesystem://",
            "REDIS_URL": "",
            "DEBUG": "true",
        }
        command = [sys.executable, "manage.py", "demo", "--port", str(self.port),
                   "--sandbox-port", str(self.sandbox_port)]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> int:
        with DIRECT.open(self.url(path), timeout=5) as response:
            return int(response.status)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"demo exited early ({self.process.returncode}):\n{self.output}")
            try:
                if self.get("/healthz") == 200 and set(self.children()) == expected_children():
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        pytest.fail(f"demo did not answer /healthz within {READY_TIMEOUT}s:\n{self.output}")

    def children(self) -> dict[str, int]:
        return {m.group(1): int(m.group(2)) for m in map(STARTED.search, self.lines) if m}

    def sandbox(self) -> SandboxClient:
        """A control client for the sandbox, from the JSON line it printed (relayed)."""
        line = next(line for line in self.lines if line.startswith("sandbox | {"))
        info = json.loads(line.split("|", 1)[1])
        return SandboxClient(info["base_url"], info["ca_bundle"])

    def login(self, email: str, password: str) -> requests.Session:
        """A browser-like session, logged in through the login form."""
        session = requests.Session()
        session.trust_env = False  # never via $HTTP_PROXY
        session.get(self.url("/auth/login/"), timeout=10).raise_for_status()
        form = {"login": email, "password": password}
        form["csrfmiddlewaretoken"] = session.cookies["csrftoken"]
        response = session.post(self.url("/auth/login/"), data=form, timeout=10)
        assert response.ok and "sessionid" in session.cookies, response.text[:500]
        return session

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.children().values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def demo_run(tmp_path: Path) -> Iterator[DemoRun]:
    run = DemoRun(tmp_path / "var")
    try:
        yield run
    finally:
        run.kill()


def expected_children() -> set[str]:
    return {"sandbox", "web", "worker", "beat"}


def test_demo_serves_the_app_wired_to_its_sandbox_and_stops_every_child_on_sigint(
    demo_run: DemoRun,
) -> None:
    demo_run.wait_until_ready()
    children = demo_run.children()
    assert set(children) == expected_children()
    assert demo_run.get("/auth/login/") == 200
    assert "demo@liaison.test" in demo_run.output
    assert demo_data.DEFAULT_DEMO_PASSWORD in demo_run.output
    assert live_processes_in_groups(set(children.values()))
    assert any(line.startswith("web ") and "|" in line for line in demo_run.lines)
    # The banner names the sandbox mailboxes, and the sandbox holds them, full of mail.
    assert all(mailbox.email in demo_run.output for mailbox in demo_data.DEMO_MAILBOXES)
    sandbox = demo_run.sandbox()
    directory = sandbox_directory(sandbox)
    assert {DANA_GOOGLE, DANA_MICROSOFT, SHARED_MAILBOX} <= set(directory)
    assert directory[DANA_GOOGLE]["messages"] > 0 and directory[DANA_MICROSOFT]["messages"] > 0
    # The app was started pointed at it: both providers are configured.
    session = demo_run.login(demo_data.DEMO_OWNER_EMAIL, demo_data.DEFAULT_DEMO_PASSWORD)
    providers = session.get(demo_run.url("/api/v1/integrations/oauth/providers"), timeout=10)
    assert providers.status_code == 200, providers.text[:500]
    configured = {row["name"]: row["configured"] for row in providers.json()}
    assert configured == {"google": True, "microsoft": True}

    demo_run.process.send_signal(signal.SIGINT)

    assert demo_run.wait() == 0, demo_run.output
    assert live_processes_in_groups(set(children.values())) == []
    assert "all stopped" in demo_run.output
    assert (demo_run.var_dir / "sandbox" / "state.json").exists()


def test_demo_stops_the_others_and_fails_when_a_child_dies(demo_run: DemoRun) -> None:
    demo_run.wait_until_ready()
    children = demo_run.children()

    os.kill(children["worker"], signal.SIGKILL)

    assert demo_run.wait() != 0
    assert "worker exited unexpectedly" in demo_run.output
    assert live_processes_in_groups(set(children.values())) == []
