"""The inbox and its folder counts under /api/v1/integrations (see api/inbox.py)."""

from django.urls import path

from integrations.mail.api import inbox

urlpatterns = [
    path("email/inbox", inbox.EmailInboxView.as_view(), name="email-inbox"),
    path("email/folders/counts", inbox.FolderCountsView.as_view(), name="email-folder-counts"),
]
