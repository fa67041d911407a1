from django.urls import include, path

from crm.web import members, organizations, resources, settings, views
from crm.web.records import record_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.calendar, name="calendar"),
    path("documents/", views.documents, name="documents"),
    *(route for resource in resources.RESOURCES for route in record_urls(resource)),
    path("tasks/<int:pk>/status/", resources.task_set_status, name="task_set_status"),
    # The Emails tab of contacts, accounts and deals, and Settings → Blocklist.
    path("", include("integrations.mail.web_matching")),
    path("organizations/switch/", organizations.organization_switch, name="organization_switch"),
    path("organizations/new/", organizations.organization_create, name="organization_create"),
    path("invitations/<str:key>/", organizations.invitation_accept, name="invitation_accept"),
    path("settings/", settings.settings_home, name="settings"),
    path("settings/members/", members.member_list, name="member_list"),
    path("settings/members/invite/", members.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/role/", members.member_set_role, name="member_set_role"),
    path("settings/members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path(
        "settings/invitations/<int:pk>/revoke/",
        members.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path("settings/tokens/", settings.token_list, name="token_list"),
    path("settings/tokens/new/", settings.token_create, name="token_create"),
    path("settings/tokens/<int:pk>/revoke/", settings.token_revoke, name="token_revoke"),
]
