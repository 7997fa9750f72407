"""Who may call what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cordon.auth import Principal, require

Resident = Annotated[Principal, Depends(require("resident"))]
Official = Annotated[Principal, Depends(require("admin", "official"))]
Staff = Annotated[Principal, Depends(require("admin", "official", "grid_worker", "lab"))]
