"""A user's delegated permission grants (``oauth2PermissionGrant``): list and remove one's own.

Real Graph gates these endpoints behind directory permissions (DelegatedPermissionGrant.*),
which an ordinary user's app rarely holds; people remove an app's consent in the My Apps portal,
which does exactly this delete. The sandbox lets the signed-in principal list and delete its own
grants so an app's "disconnect" can be exercised; removing a grant revokes its tokens.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft.graph_common import Ctx, GraphError, graph_root_route
from integrations.sandbox.microsoft.records import Grant

GRAPH_SERVICE_PRINCIPAL = "00000003-0000-0000-c000-000000000000"


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.grant_id,
        "clientId": grant.client_id,
        "consentType": "Principal",
        "principalId": grant.oid,
        "resourceId": GRAPH_SERVICE_PRINCIPAL,
        "scope": " ".join(grant.scopes),
    }


@graph_root_route("GET", r"/(?i:me)/(?i:oauth2PermissionGrants)", name="graph.me.grants.list")
def list_grants(ctx: Ctx) -> Response:
    mine = [
        _grant_json(g)
        for g in ctx.state.grants.values()
        if g.oid == ctx.caller.oid and g.revoked_at is None
    ]
    context = f"{ctx.request.base_url}/graph/v1.0/$metadata#oauth2PermissionGrants"
    return ctx.ok({"@odata.context": context, "value": mine})


@graph_root_route(
    "DELETE", r"/(?i:oauth2PermissionGrants)/(?P<grant_id>[^/]+)", name="graph.grants.delete"
)
def delete_grant(ctx: Ctx) -> Response:
    grant = ctx.state.grants.get(ctx.request.params["grant_id"])
    if grant is None or grant.revoked_at is not None:
        raise GraphError(404, "Request_ResourceNotFound", "Resource does not exist.")
    if grant.oid != ctx.caller.oid:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    grant.revoked_at = ctx.now
    return Response.empty(204)
