"""Who may call what: the registry's role dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cordon.auth import STAFF, CurrentPrincipal, Principal
from cordon.errors import Forbidden


async def _gate(principal: CurrentPrincipal) -> Principal:
    """Staff, or a gate device: a partner key with the ``gate`` scope."""
    if principal.role in STAFF or (principal.role == "partner" and "gate" in principal.scopes):
        return principal
    raise Forbidden("Only staff and gate devices verify passes.")


_gate.roles = (*STAFF, "partner")  # for the OpenAPI (cordon.apidoc); a partner needs the gate scope


Gate = Annotated[Principal, Depends(_gate)]
