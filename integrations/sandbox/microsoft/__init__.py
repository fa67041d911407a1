"""The Microsoft side of the sandbox: identity platform v2 and Graph v1.0 (mail, calendar).

Importing the package registers its routes (graph_messages pulls in graph_delta first so that
``.../messages/delta`` is tried before ``.../messages/{id}``).
"""

from integrations.sandbox.microsoft import (  # noqa: F401 - imported to register routes
    control,
    control_events,
    graph_attachments,
    graph_batch,
    graph_calendar_view,
    graph_delta,
    graph_events,
    graph_grants,
    graph_messages,
    graph_send,
    graph_subscriptions,
    graph_users,
    identity,
)
