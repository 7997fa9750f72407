"""Who may call what, and the list paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from cordon.auth import Principal, require

Resident = Annotated[Principal, Depends(require("resident"))]
Official = Annotated[Principal, Depends(require("admin", "official"))]
Staff = Annotated[Principal, Depends(require("admin", "official", "grid_worker", "lab"))]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200)]
