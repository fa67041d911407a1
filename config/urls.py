from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from crm.api.errors import json_error
from crm.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("auth/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/integrations/", include("integrations.urls")),
    path("api/v1/", include("crm.api.urls")),
    path("settings/connections/", include("integrations.connections.web_urls")),
    path("settings/mailboxes/", include("integrations.mail.web_urls")),
    path("inbox/", include("integrations.mail.web_inbox_urls")),
    path("", include("crm.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(request, "Not found", "NotFound", 404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(request, "Internal server error", "InternalError", 500)
    return defaults.server_error(request)
