"""The health-code read model: one row per person (colour, reasons, until, version, the answer as sent).

Revision ID: registry_0012
Revises: registry_0011
"""

import uuid
from datetime import date

import orjson
import sqlalchemy as sa
from alembic import op

from cordon.db import JSONType, UTCDateTime

revision = "registry_0012"
down_revision = "registry_0011"
branch_labels = None
depends_on = None

CHUNK = 5000


def _uuid_text(raw) -> str:
    try:
        return str(raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw)))
    except ValueError:
        return str(raw)


def _row(r) -> dict:
    """The row as services/registry/domain/code_view.py shapes it at this revision (kept here, frozen)."""
    reasons = [{"rule": x["rule"], "detail": x["detail"], "until": x.get("until")} for x in (r.health_reasons or [])]
    until = None if not reasons or any(not x["until"] for x in reasons) else max(date.fromisoformat(x["until"]) for x in reasons)
    doc = orjson.dumps(
        {"person_id": _uuid_text(r.id), "color": r.health_color, "reasons": reasons, "updated_at": r.health_updated_at},
        option=orjson.OPT_UTC_Z,
    ).decode()
    return {"person_id": r.id, "color": r.health_color, "reasons": reasons, "until": until, "version": r.health_version,
            "updated_at": r.health_updated_at, "doc": doc}


def upgrade() -> None:
    op.create_table(
        "health_code",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("color", sa.String(length=6), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_health_code_person_id_person"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_health_code")),
    )
    # Every registered person has a row: built from the code each person carries. The key is copied as
    # stored (untyped), so the row points at its person whatever the backend keeps a UUID as.
    rows_in = sa.table(
        "health_code", sa.column("person_id"), sa.column("color", sa.String()), sa.column("reasons", JSONType),
        sa.column("until", sa.Date()), sa.column("version", sa.Integer()), sa.column("updated_at", UTCDateTime()),
        sa.column("doc", sa.Text()),
    )
    person = sa.table(
        "person", sa.column("id"), sa.column("health_color", sa.String()), sa.column("health_reasons", JSONType),
        sa.column("health_version", sa.Integer()), sa.column("health_updated_at", UTCDateTime()),
    )
    bind = op.get_bind()
    last = None
    while True:
        query = sa.select(person).order_by(person.c.id).limit(CHUNK)
        if last is not None:
            query = query.where(person.c.id > last)
        rows = bind.execute(query).all()
        if not rows:
            break
        bind.execute(rows_in.insert(), [_row(r) for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("health_code")
