"""Who may call the gatherings routes: residents and the staff who look after gatherings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cordon.auth import FIELD_STAFF, Principal, require

# Labs and partners have no business with gatherings (403); region and organiser checks follow in the use cases.
Participant = Annotated[Principal, Depends(require(*FIELD_STAFF, "resident"))]
