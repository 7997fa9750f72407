"""Personal data: the ID-number check, masking, a keyed blind index for lookups, encryption at rest.

The blind index is HMAC-SHA256 under a key every service shares, so the testing
and events services can match an ID number or phone to the registry's person
without holding it in clear. Values are encrypted with AES-256-GCM.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from cordon.errors import IdNumberInvalid, PhoneInvalid

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
EARLIEST_BIRTH = date(1880, 1, 1)
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")


def id_check_character(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def normalize_id_number(value: str) -> str:
    return value.strip().upper()


def birth_date(value: str) -> date | None:
    """The birth date digits 7-14 spell, if they are a real day (python-stdnum ``cn.ric``)."""
    try:
        return ric.get_birth_date(value)
    except (ValidationError, ValueError):
        return None


def is_valid_id_number(value: str) -> bool:
    """GB 11643: the shape, the check character, and a birth date that is a real day between 1880 and today."""
    value = normalize_id_number(value)
    if not (_ID_SHAPE.match(value) and id_check_character(value[:17]) == value[17]):
        return False
    born = birth_date(value)
    return born is not None and EARLIEST_BIRTH <= born <= datetime.now(UTC).date() + timedelta(days=1)


def normalize_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def is_valid_phone(value: str) -> bool:
    return bool(_PHONE.match(normalize_phone(value)))


def checked_phone(value: str, *, field: str = "phone") -> str:
    """``value`` normalized; 422 ``phone_invalid`` naming ``field`` unless it is a mainland mobile number."""
    if not isinstance(value, str) or not is_valid_phone(value):
        raise PhoneInvalid(f"{field} is not a mainland mobile number.", errors=[{"field": field, "message": "invalid"}])
    return normalize_phone(value)


def checked_id_number(value: str, *, field: str = "id_number") -> str:
    """``value`` normalized; 422 ``id_number_invalid`` naming ``field`` unless it passes the GB 11643 check."""
    if not isinstance(value, str) or not is_valid_id_number(value):
        raise IdNumberInvalid("The ID number fails the GB 11643 check.", errors=[{"field": field, "message": "身份证号校验位或出生日期有误（bad check character or birth date）"}])
    return normalize_id_number(value)


def mask_id_number(value: str) -> str:
    """3204**********123X: the province and city, and the last four."""
    value = normalize_id_number(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(value: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧**娜: enough for a gate keeper to compare, not enough to identify."""
    value = value.strip()
    if len(value) <= 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str) -> str:
    """138****1234."""
    value = normalize_phone(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


@dataclass(frozen=True)
class Vault:
    """Blind indexes and encryption under this deployment's keys (hex strings of 32 bytes)."""

    index_key: bytes
    encryption_key: bytes

    @classmethod
    def from_hex(cls, index_key: str, encryption_key: str) -> Vault:
        return cls(bytes.fromhex(index_key), bytes.fromhex(encryption_key))

    def index(self, kind: str, value: str) -> str:
        """The blind index of a normalized ``value`` of ``kind`` ('id_number' or 'phone')."""
        normalized = normalize_id_number(value) if kind == "id_number" else normalize_phone(value)
        return hmac.new(self.index_key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + AESGCM(self.encryption_key).encrypt(nonce, value.encode(), None)).decode()

    def decrypt(self, token: str) -> str:
        raw = base64.b64decode(token)
        return AESGCM(self.encryption_key).decrypt(raw[:12], raw[12:], None).decode()
