from django.urls import path

from integrations.mail import web_sync

urlpatterns = [
    path("", web_sync.mailbox_list, name="settings-mailboxes"),
    path("connect/", web_sync.shared_mailbox_connect, name="mailbox-connect-web"),
    path("<int:pk>/status/", web_sync.mailbox_status, name="mailbox-status-web"),
    path("<int:pk>/settings/", web_sync.mailbox_settings, name="mailbox-settings-web"),
    path("<int:pk>/sync/", web_sync.mailbox_sync, name="mailbox-sync-web"),
    path("<int:pk>/retry/", web_sync.mailbox_retry, name="mailbox-retry-web"),
    path("<int:pk>/disconnect/", web_sync.mailbox_disconnect, name="mailbox-disconnect-web"),
]
