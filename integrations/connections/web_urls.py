from django.urls import path

from integrations.connections import web

urlpatterns = [
    path("", web.connection_list, name="settings-connections"),
    path("connect/<str:provider>/", web.connection_connect, name="connection-connect"),
    path("<int:pk>/refresh/", web.connection_refresh, name="connection-refresh-web"),
    path("<int:pk>/disconnect/", web.connection_disconnect, name="connection-disconnect-web"),
]
