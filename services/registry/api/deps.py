"""Who may call what: the registry's role dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cordon.auth import Principal, require

Staff = Annotated[Principal, Depends(require("admin", "official", "grid_worker"))]
AnyStaff = Annotated[Principal, Depends(require("admin", "official", "grid_worker", "lab"))]
Official = Annotated[Principal, Depends(require("admin", "official"))]
GridWorker = Annotated[Principal, Depends(require("grid_worker"))]
Resident = Annotated[Principal, Depends(require("resident"))]
Partner = Annotated[Principal, Depends(require("partner"))]
Admin = Annotated[Principal, Depends(require("admin"))]
SignedIn = Annotated[Principal, Depends(require("admin", "official", "grid_worker", "lab", "resident", "partner"))]
