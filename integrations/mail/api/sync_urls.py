"""Mailbox and sync routes under /api/v1/integrations (see integrations/mail/api/sync.py)."""

from django.urls import path

from integrations.mail.api import sync

urlpatterns = [
    path("email/mailboxes", sync.MailboxListView.as_view(), name="mailbox-list"),
    path(
        "email/mailboxes/connect",
        sync.SharedMailboxConnectView.as_view(),
        name="mailbox-connect",
    ),
    path("email/mailboxes/mappings", sync.OutlookMappingsView.as_view(), name="mailbox-mappings"),
    path("email/mailboxes/<int:pk>", sync.MailboxDetailView.as_view(), name="mailbox-detail"),
    path("email/mailboxes/<int:pk>/sync", sync.MailboxSyncView.as_view(), name="mailbox-sync"),
    path(
        "email/mailboxes/<int:pk>/sync/status",
        sync.MailboxSyncStatusView.as_view(),
        name="mailbox-sync-status",
    ),
    path(
        "email/mailboxes/<int:pk>/sync/retry",
        sync.MailboxSyncRetryView.as_view(),
        name="mailbox-sync-retry",
    ),
    path(
        "email/mailboxes/<int:pk>/failures",
        sync.MailboxFailureListView.as_view(),
        name="mailbox-failures",
    ),
    path(
        "email/mailboxes/<int:pk>/disconnect",
        sync.SharedMailboxDisconnectView.as_view(),
        name="mailbox-disconnect",
    ),
    path("email/sync", sync.EmailSyncView.as_view(), name="email-sync"),
    path("connections/<int:pk>/sync", sync.ConnectionSyncView.as_view(), name="connection-sync"),
]
