"""Push webhooks: Gmail through a Cloud Pub/Sub push subscription, Microsoft Graph change and
lifecycle notifications. Providers call them without a user: the proof is a token signed by
Google, or the subscription's clientState, and what they act on is found from it across
organizations (``integrations.mail.push``). A notification that cannot be proven is a 403 in
the error format plus a WARNING line naming why, and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.errors import ApiError
from integrations.mail import push
from integrations.providers.google.push_tokens import (
    PushKeysUnavailable,
    PushTokenInvalid,
    gmail_push_message,
)
from integrations.providers.microsoft.graph_subscriptions import notifications_parse

logger = logging.getLogger(__name__)

MAX_VALIDATION_TOKEN = 1024
REJECTED = OpenApiResponse(description="Not a genuine notification: nothing was done")


class AnyAccept(DefaultContentNegotiation):
    """Providers send whatever Accept header they like; the answer's type is ours to choose."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class WebhookView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []  # a burst of pushes is normal, and a 429 only delays it
    parser_classes = [JSONParser]
    content_negotiation_class = AnyAccept


def _rejected(request: Request, provider: str, reason: str) -> ApiError:
    logger.warning(
        "rejected %s push notification from %s: %s",
        provider,
        request.META.get("REMOTE_ADDR", "?"),
        reason,
    )
    return ApiError(
        "The notification could not be authenticated.", code="Forbidden", status_code=403
    )


class GoogleWebhookView(WebhookView):
    @extend_schema(
        summary="Gmail push notification (Cloud Pub/Sub push subscription)",
        description="Authenticated by the OIDC token Pub/Sub attaches (`Authorization: Bearer`). "
        "Every mailbox syncing the notified address gets an incremental sync.",
        auth=[],
        request=OpenApiTypes.OBJECT,
        responses={
            204: OpenApiResponse(description="Accepted (Pub/Sub acknowledges the message)"),
            403: REJECTED,
            503: OpenApiResponse(description="Google's signing keys are unreachable: retry"),
        },
    )
    def post(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _rejected(request, "Gmail", "no bearer token")
        try:
            push.gmail_push_token_verify(token.strip())
        except PushTokenInvalid as exc:
            raise _rejected(request, "Gmail", exc.reason) from exc
        except PushKeysUnavailable as exc:
            logger.warning("Gmail push not judged: %s", exc)
            raise ApiError(
                "The notification cannot be verified now.",
                code="ProviderUnavailable",
                status_code=503,
            ) from exc
        try:
            message = gmail_push_message(request.data)
        except ValueError as exc:  # genuine but useless: acknowledge, or Pub/Sub resends it
            logger.warning("ignored a Gmail push without a usable message: %s", exc)
            return Response(status=204)
        push.gmail_push_receive(email_address=message.email_address)
        return Response(status=204)


class MicrosoftWebhookView(WebhookView):
    @extend_schema(
        summary="Microsoft Graph change and lifecycle notifications",
        description="With `validationToken`, the subscription handshake: the token comes back "
        "as text/plain. Otherwise `{value: [...]}`; each item counts only when its `clientState` "
        "is its subscription's secret.",
        auth=[],
        parameters=[OpenApiParameter("validationToken", str)],
        request=OpenApiTypes.OBJECT,
        responses={
            200: OpenApiResponse(OpenApiTypes.STR, description="The validation token, echoed"),
            202: OpenApiResponse(description="Accepted (at least one genuine notification)"),
            403: REJECTED,
        },
    )
    def post(self, request: Request) -> HttpResponse:
        validation = request.query_params.get("validationToken")
        if validation is not None:
            if len(validation) > MAX_VALIDATION_TOKEN:
                raise ApiError("The validation token is too long.")
            return HttpResponse(validation, content_type="text/plain; charset=utf-8")
        try:
            notifications = notifications_parse(request.data)
        except ValueError as exc:
            raise _rejected(request, "Graph", str(exc)) from exc
        if not push.graph_push_receive(notifications=notifications):
            raise _rejected(request, "Graph", "no item with a known subscription and clientState")
        return Response(status=202)
