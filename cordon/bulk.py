"""Many rows in one statement, without a bound parameter per value: inserts, upserts and updates by key.

On PostgreSQL a statement takes one array per column and ``unnest``s it (``INSERT ... SELECT * FROM
unnest($1::uuid[], ...)``, ``UPDATE ... FROM unnest(...)``): the driver encodes each array in one go, where a
Core ``executemany`` costs SQLAlchemy tens of microseconds of Python per row (a risk area turning high writes
about ten rows per traveller: measures, triggers, staff, codes, events). SQLite gets the Core statement with
its rows (``executemany``). Values are given as to the mapped columns; a JSON column's value is encoded here.

Every function has a sync twin's core (``statement``) so a session event (the outbox's ``before_commit``) can
run the same statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import JSON, Table, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

_PG = postgresql.dialect()


def _table(model) -> Table:
    return getattr(model, "__table__", model)


def _pg_type(table: Table, name: str) -> tuple[str, bool]:
    """The column's PostgreSQL type as written in a cast, and whether it is JSON (sent as text, cast back)."""
    column_type = table.c[name].type
    impl = getattr(column_type, "impl", column_type)
    variant = getattr(impl, "_variant_mapping", {}).get("postgresql", impl)
    if isinstance(variant, JSON) or isinstance(impl, JSON):
        return variant.compile(dialect=_PG), True
    return variant.compile(dialect=_PG), False


def _arrays(table: Table, columns: Sequence[str], rows: Sequence[dict]) -> tuple[list[str], dict[str, list]]:
    """Per column: the ``unnest`` argument (a cast array parameter) and its values."""
    args, params = [], {}
    for i, name in enumerate(columns):
        pg_type, is_json = _pg_type(table, name)
        values = [row[name] for row in rows]
        if is_json:  # as the JSON type writes it: None is JSON null
            values = [json.dumps(v) for v in values]
            pg_type = "TEXT"
        args.append(f"CAST(:a{i} AS {pg_type}[])")
        params[f"a{i}"] = values
    return args, params


def _select_list(table: Table, columns: Sequence[str], alias: str = "u") -> list[str]:
    out = []
    for i, name in enumerate(columns):
        pg_type, is_json = _pg_type(table, name)
        out.append(f"CAST({alias}.c{i} AS {pg_type})" if is_json else f"{alias}.c{i}")
    return out


def insert_statement(dialect: str, model, rows: Sequence[dict], *, conflict: Sequence[str] = (),
                     update_columns: Sequence[str] = (), ordered: bool = False) -> tuple[object, object]:
    """(statement, parameters) inserting ``rows`` (dicts with the same keys) into ``model``'s table; with
    ``conflict`` (the unique columns) and ``update_columns``, a row already there takes the new values
    (upsert). ``ordered``: the rows are inserted in the order given (a serial key follows it)."""
    table = _table(model)
    columns = list(rows[0])
    if dialect != "postgresql":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table) if conflict else insert(table)
        if conflict:
            statement = statement.on_conflict_do_update(
                index_elements=list(conflict), set_={c: statement.excluded[c] for c in update_columns})
        return statement, list(rows)
    args, params = _arrays(table, columns, rows)
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    source = f"unnest({', '.join(args)})" + (" WITH ORDINALITY" if ordered else "")
    alias = f"u({names}, ord)" if ordered else f"u({names})"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(_select_list(table, columns))} "
           f"FROM {source} AS {alias}" + (" ORDER BY u.ord" if ordered else ""))
    if conflict:
        sql += f" ON CONFLICT ({', '.join(conflict)}) DO "
        sql += ("UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in update_columns)) if update_columns else "NOTHING"
    return text(sql), params


def update_statement(dialect: str, model, key: str, rows: Sequence[dict]) -> tuple[object, object]:
    """(statement, parameters) setting, for each row, its other columns on the table's row whose ``key`` is
    the row's ``key``."""
    table = _table(model)
    columns = [key] + [c for c in rows[0] if c != key]
    if dialect != "postgresql":
        statement = update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
            {c: bindparam(f"b_{c}") for c in columns[1:]})
        return statement, [{f"b_{c}": row[c] for c in columns} for row in rows]
    args, params = _arrays(table, columns, rows)
    values = _select_list(table, columns)
    sets = ", ".join(f"{c} = {v}" for c, v in zip(columns[1:], values[1:], strict=True))
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    # The key also as "= ANY(array)": an index condition, so each statement finds its rows by the key's index.
    # Joined to the unnest alone, the planner hashes it against a scan of the whole table, which within one
    # long transaction also walks every version the earlier statements left (the turn of 100,000 went quadratic).
    sql = (f"UPDATE {table.name} SET {sets} FROM unnest({', '.join(args)}) AS u({names}) "
           f"WHERE {table.name}.{key} = ANY({args[0]}) AND {table.name}.{key} = u.c0")
    return text(sql), params


async def insert_rows(session: AsyncSession, model, rows: Sequence[dict], *, conflict: Sequence[str] = (),
                      update_columns: Sequence[str] = ()) -> None:
    """Insert (or upsert, see ``insert_statement``) ``rows`` in one statement (none when there are none)."""
    if rows:
        statement, params = insert_statement(session.bind.dialect.name, model, rows, conflict=conflict,
                                             update_columns=update_columns)
        await session.execute(statement, params)


async def update_rows(session: AsyncSession, model, key: str, rows: Sequence[dict]) -> None:
    """Update the rows of ``model`` named by each row's ``key``, in one statement (none when there are none)."""
    if rows:
        statement, params = update_statement(session.bind.dialect.name, model, key, rows)
        await session.execute(statement, params)
