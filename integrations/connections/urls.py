from django.urls import path

from integrations.connections import api

urlpatterns = [
    path("oauth/providers", api.ProviderListView.as_view(), name="oauth-providers"),
    path("oauth/<str:provider>/authorize", api.AuthorizeView.as_view(), name="oauth-authorize"),
    path("oauth/<str:provider>/callback", api.CallbackView.as_view(), name="oauth-callback"),
    path("oauth/<str:provider>", api.DisconnectView.as_view(), name="oauth-disconnect"),
    path("connections", api.ConnectionListView.as_view(), name="connection-list"),
    path(
        "connections/<str:pk>/status", api.ConnectionStatusView.as_view(), name="connection-status"
    ),
    path(
        "connections/<str:pk>/refresh",
        api.ConnectionRefreshView.as_view(),
        name="connection-refresh",
    ),
    path(
        "microsoft/connections",
        api.MicrosoftConnectionsView.as_view(),
        name="microsoft-connections",
    ),
    path(
        "microsoft/connections/disconnect",
        api.MicrosoftDisconnectView.as_view(),
        name="microsoft-connections-disconnect",
    ),
]
