"""Shared inboxes, assignment, a record's threads, and a thread's CRM and task links, under
/api/v1/integrations (see integrations/mail/api/inboxes.py and thread_links.py)."""

from django.urls import path

from integrations.mail.api import inboxes, thread_links

urlpatterns = [
    path("email/shared-inboxes", inboxes.SharedInboxListView.as_view(), name="shared-inbox-list"),
    path(
        "email/shared-inboxes/<str:pk>",
        inboxes.SharedInboxDetailView.as_view(),
        name="shared-inbox-detail",
    ),
    path("email/thread/<int:pk>/assign", inboxes.ThreadAssignView.as_view(), name="thread-assign"),
    path(
        "email/threads/<str:entity_type>/<str:entity_id>",
        inboxes.EntityThreadsView.as_view(),
        name="entity-threads",
    ),
    path(
        "email/thread/<int:pk>/links",
        thread_links.ThreadLinksView.as_view(),
        name="thread-links",
    ),
    path(
        "email/thread/<int:pk>/links/<str:entity_type>/<int:entity_id>",
        thread_links.ThreadLinkView.as_view(),
        name="thread-link",
    ),
    path(
        "email/thread/<int:pk>/tasks",
        thread_links.ThreadTasksView.as_view(),
        name="thread-tasks",
    ),
    path(
        "email/thread/<int:pk>/tasks/<int:task_id>",
        thread_links.ThreadTaskView.as_view(),
        name="thread-task",
    ),
]
