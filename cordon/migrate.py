"""Each service's own Alembic history, run by `cordon migrate` (and by the tests)."""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from cordon import db, services
from cordon.bus.tables import metadata as bus_metadata
from cordon.policy import replica
from cordon.settings import SERVICES


def config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"{services.package(service)}:migrations")
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(config(service, url), revision)


def downgrade(service: str, url: str, revision: str = "base") -> None:
    command.downgrade(config(service, url), revision)


def upgrade_all(urls: dict[str, str]) -> None:
    for service in SERVICES:
        upgrade(service, urls[service])


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py: online migrations on the async engine."""
    url = context.config.attributes["database_url"]
    target = [bus_metadata, replica.metadata, metadata]
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def run(connection: Connection) -> None:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by copying its table (batch mode) and dropping the old one; with
            # foreign keys on, that DROP would cascade to every child row (measures of a person, check-ins
            # of a gathering). Off for the migration, set outside its transaction (where SQLite honours it),
            # and the keys checked before it commits.
            # (On the driver's connection: a statement through SQLAlchemy would begin the transaction first.)
            cursor = connection.connection.dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()
        context.configure(connection=connection, target_metadata=target, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                raise RuntimeError(f"the migration left rows whose parents are missing: {broken[:5]}")

    async def main() -> None:
        engine = db.create_engine(url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


def widen_region_codes(columns: dict[str, tuple[str, ...]], *, to: int = 15, was: int = 6) -> None:
    """A migration step: region code columns (table -> names) from ``was`` to ``to`` characters.

    Every code already stored keeps its meaning; the longer codes of the place tree fit.
    On SQLite the table is copied (batch mode); on PostgreSQL only the type changes.
    """
    import sqlalchemy as sa
    from alembic import op

    for table, names in columns.items():
        with op.batch_alter_table(table) as batch:
            for name in names:
                batch.alter_column(name, type_=sa.String(to), existing_type=sa.String(was))
