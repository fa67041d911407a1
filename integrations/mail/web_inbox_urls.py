"""The Inbox's web routes, mounted at /inbox/ by config/urls.py."""

from django.urls import include, path

from integrations.mail import web_inbox, web_inbox_thread

urlpatterns = [
    path("", web_inbox.inbox, name="inbox"),
    path("bulk/", web_inbox.bulk, name="inbox_bulk"),
    path("thread/<int:pk>/", web_inbox_thread.thread_view, name="inbox_thread"),
    path("thread/<int:pk>/flag/", web_inbox.thread_flag, name="inbox_thread_flag"),
    path("thread/<int:pk>/links/", web_inbox_thread.thread_link, name="inbox_thread_link"),
    path(
        "thread/<int:pk>/links/remove/",
        web_inbox_thread.thread_unlink,
        name="inbox_thread_unlink",
    ),
    path("thread/<int:pk>/tasks/", web_inbox_thread.thread_task_link, name="inbox_thread_task"),
    path(
        "thread/<int:pk>/tasks/remove/",
        web_inbox_thread.thread_task_unlink,
        name="inbox_thread_task_unlink",
    ),
    path(
        "thread/<int:pk>/assign/", web_inbox_thread.thread_assign_view, name="inbox_thread_assign"
    ),
    path("thread/<int:pk>/search/", web_inbox_thread.thread_search, name="inbox_thread_search"),
    # One message on its own page, and its body as the sandboxed frame's document.
    path("messages/", include("integrations.mail.web_reading")),
]
