"""A conversation's links by hand, under /api/v1/integrations: to contacts, accounts and deals
(``/email/thread/:threadId/links``) and to tasks (seed 004's ``/email/thread/:threadId/tasks``).

Any member who may see the conversation reads and changes its links; the record linked must be
the organization's (another organization's is a 404, like an unknown one).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.base import TenantAPIView, acting_user
from crm.api.errors import NotFoundError
from crm.api.pagination import PagePagination
from crm.api.permissions import IsOrganizationMember
from crm.models import Task
from integrations.mail.api import inboxes_serializers as s
from integrations.mail.api.inboxes import INVALID, NOT_FOUND, entity_or_404, thread_or_404
from integrations.mail.selectors_links import linked_entity, thread_links, thread_tasks
from integrations.mail.services_links import (
    thread_link_add,
    thread_link_remove,
    thread_task_add,
    thread_task_remove,
)


class ThreadLinksView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        summary="The contacts, accounts and deals a conversation is linked to",
        responses={200: s.LinkedEntitySerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        thread = thread_or_404(request, pk)
        return Response(s.LinkedEntitySerializer(thread_links(thread=thread), many=True).data)

    @extend_schema(
        summary="Link a conversation to a contact, account or deal by hand",
        description=(
            "The link is `manual`: relinking never removes it (an automatic link to the same "
            "record becomes manual). 201 when new, 200 when they were linked already."
        ),
        request=s.ThreadLinkCreateSerializer,
        responses={
            201: s.LinkedEntitySerializer,
            200: s.LinkedEntitySerializer,
            400: INVALID,
            404: OpenApiResponse(description="No such conversation, contact, account or deal"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = thread_or_404(request, pk)
        data = s.ThreadLinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entity = entity_or_404(data.validated_data["entityType"], data.validated_data["entityId"])
        link, created = thread_link_add(thread=thread, entity=entity, user=acting_user(request))
        return Response(
            s.LinkedEntitySerializer(linked_entity(link)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ThreadLinkView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        summary="Unlink a conversation from a contact, account or deal",
        description=(
            "Whatever made the link (matching, an address rule, a person), matching and "
            "relinking do not link them again; linking them by hand does."
        ),
        responses={
            204: None,
            404: OpenApiResponse(description="No such conversation or record, or not linked"),
        },
    )
    def delete(self, request: Request, pk: int, entity_type: str, entity_id: int) -> Response:
        thread = thread_or_404(request, pk)
        entity = entity_or_404(entity_type, entity_id)
        if not thread_link_remove(thread=thread, entity=entity, user=acting_user(request)):
            raise NotFoundError("Thread Link")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ThreadTasksView(TenantAPIView):
    permission_classes = [IsOrganizationMember]
    pagination_class = PagePagination

    @extend_schema(
        summary="The tasks linked to a conversation",
        responses={200: s.ThreadTaskSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        thread = thread_or_404(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(thread_tasks(thread=thread), request, view=self)
        return paginator.get_paginated_response(s.ThreadTaskSerializer(page, many=True).data)

    @extend_schema(
        summary="Link a task to a conversation",
        description="201 when new, 200 when the task was linked already.",
        request=s.ThreadTaskCreateSerializer,
        responses={
            201: s.ThreadTaskSerializer,
            200: s.ThreadTaskSerializer,
            400: INVALID,
            404: OpenApiResponse(description="No such conversation or task"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        thread = thread_or_404(request, pk)
        data = s.ThreadTaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = Task.objects.filter(pk=data.validated_data["taskId"]).first()
        if task is None:
            raise NotFoundError("Task")
        link, created = thread_task_add(thread=thread, task=task, user=acting_user(request))
        return Response(
            s.ThreadTaskSerializer(link).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ThreadTaskView(TenantAPIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(
        summary="Unlink a task from a conversation",
        responses={
            204: None,
            404: OpenApiResponse(description="No such conversation, or the task is not linked"),
        },
    )
    def delete(self, request: Request, pk: int, task_id: int) -> Response:
        thread = thread_or_404(request, pk)
        if not thread_task_remove(thread=thread, task_id=task_id):
            raise NotFoundError("Thread Task")
        return Response(status=status.HTTP_204_NO_CONTENT)
