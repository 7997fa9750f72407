"""The stats read model counted from the registry's own rows where it is still empty: a database whose
people, measures and leads predate the read model (their events older than the streams keep, 30 days)
starts with counters equal to its rows. A model the consumers already keep is left to them. The services are stopped while migrations run, so nothing changes underneath; each
kept state is stamped with this moment, so the events the new consumer replays afterwards (all older)
change nothing, while positives and missed follow-ups per day are counted from them.

Revision ID: registry_0015
Revises: registry_0014
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

revision = "registry_0015"
down_revision = "registry_0014"
branch_labels = None
depends_on = None

person = sa.table("person", sa.column("id", sa.Uuid()), sa.column("region_code", sa.String()), sa.column("health_color", sa.String()),
                  sa.column("overdue_since", sa.Date()), sa.column("id_number_index", sa.String()))
measure = sa.table("measure", sa.column("id", sa.Uuid()), sa.column("person_id", sa.Uuid()), sa.column("kind", sa.String()),
                   sa.column("status", sa.String()))
lead = sa.table("lead", sa.column("id", sa.Uuid()), sa.column("region_code", sa.String()), sa.column("status", sa.String()),
                sa.column("overdue_at", UTCDateTime()))
stats_person = sa.table("stats_person", *(sa.column(c) for c in (
    "person_id", "region_code", "color", "overdue_since", "id_number_index", "region_at", "color_at", "overdue_at")))
stats_measure = sa.table("stats_measure", *(sa.column(c) for c in ("measure_id", "person_id", "kind", "status", "at")))
stats_lead = sa.table("stats_lead", *(sa.column(c) for c in ("lead_id", "region_code", "open", "overdue", "at")))
stats_count = sa.table("stats_count", *(sa.column(c) for c in ("region_code", "metric", "value")))
p = sa.table("stats_person", sa.column("person_id", sa.Uuid()), sa.column("region_code", sa.String()), sa.column("color", sa.String()),
             sa.column("overdue_since", sa.Date()))
m = sa.table("stats_measure", sa.column("person_id", sa.Uuid()), sa.column("kind", sa.String()), sa.column("status", sa.String()))
ld = sa.table("stats_lead", sa.column("region_code", sa.String()), sa.column("open", sa.Boolean()), sa.column("overdue", sa.Boolean()))


def upgrade() -> None:
    bind = op.get_bind()
    if any(bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() for table in
           ("stats_count", "stats_person", "stats_measure", "stats_lead")):
        return  # the consumers have been keeping the model already: it is theirs
    stamp = sa.literal(datetime.now(UTC), UTCDateTime())
    op.execute(stats_person.insert().from_select(
        ["person_id", "region_code", "color", "overdue_since", "id_number_index", "region_at", "color_at", "overdue_at"],
        sa.select(person.c.id, person.c.region_code, person.c.health_color, person.c.overdue_since, person.c.id_number_index,
                  stamp, stamp, stamp),
    ))
    op.execute(stats_measure.insert().from_select(
        ["measure_id", "person_id", "kind", "status", "at"],
        sa.select(measure.c.id, measure.c.person_id, measure.c.kind, measure.c.status, stamp),
    ))
    op.execute(stats_lead.insert().from_select(
        ["lead_id", "region_code", "open", "overdue", "at"],
        sa.select(lead.c.id, sa.func.coalesce(lead.c.region_code, ""), lead.c.status == "open", lead.c.overdue_at.is_not(None), stamp),
    ))
    parts = sa.union_all(
        sa.select(p.c.region_code, sa.literal("people").label("metric")),
        sa.select(p.c.region_code, (sa.literal("color.") + p.c.color).label("metric")),
        sa.select(p.c.region_code, sa.literal("tests_overdue").label("metric")).where(p.c.overdue_since.is_not(None)),
        sa.select(p.c.region_code, (sa.literal("measure.") + m.c.kind).label("metric")).select_from(
            p.join(m, m.c.person_id == p.c.person_id)).where(m.c.status == "active"),
        sa.select(ld.c.region_code, sa.literal("leads_open").label("metric")).where(ld.c.open.is_(True)),
        sa.select(ld.c.region_code, sa.literal("leads_overdue").label("metric")).where(ld.c.open.is_(True), ld.c.overdue.is_(True)),
    ).subquery()
    op.execute(stats_count.insert().from_select(
        ["region_code", "metric", "value"],
        sa.select(parts.c.region_code, parts.c.metric, sa.func.count()).group_by(parts.c.region_code, parts.c.metric),
    ))


def downgrade() -> None:
    pass  # the counted states and counters are the read model's own rows; going down keeps them as they are
