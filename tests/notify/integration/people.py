"""Registry and gateway events that build the notify service's projections, as those services publish them."""

from __future__ import annotations

import uuid

from cordon.contracts import auth, registry
from cordon.pii import Vault, mask_phone

REGION = "320413"


def person_registered(vault: Vault, phone: str | None, *, region: str = REGION, language: str = "zh", person_id=None):
    return registry.PersonRegistered(
        person_id=person_id or uuid.uuid4(), region_code=region, id_number_index=uuid.uuid4().hex,
        id_number_masked="3204**********123X", phone_index=vault.index("phone", phone) if phone else None,
        phone_masked=mask_phone(phone) if phone else None, phone_enc=vault.encrypt(phone) if phone else None,
        name_masked="张*", language=language,
    )


def user_created(vault: Vault, username: str, role: str, regions: list[str], phone: str | None = None):
    return auth.UserCreated(user_id=uuid.uuid4(), username=username, role=role, regions=regions,
                            phone_enc=vault.encrypt(phone) if phone else None)
