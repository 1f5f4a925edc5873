"""The few statements every inbound reply runs, executed at the driver on PostgreSQL.

The webhook runs three to six small statements per reply. Through SQLAlchemy's Core
execution each cost about twice psycopg's own work (execution context, bind and result
processors, result metadata), and that bookkeeping, not the database, was most of the
webhook's CPU. `Prepared` keeps the statement written in SQLAlchemy (one source of truth
for tables, columns and dialect quirks), compiles it once per dialect, and on PostgreSQL
runs the SQL text on the request connection's own psycopg cursor, as a server-side
prepared statement. Other dialects (SQLite) execute the Core statement as usual.

It runs inside the caller's transaction: SQLAlchemy still begins, commits and rolls back,
and a connection a failed statement broke is invalidated by that rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum
from functools import cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import Column, Connection, Dialect, Executable, Table
from sqlalchemy.sql import ClauseElement, Insert
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    """A Core statement run at the driver on PostgreSQL; rows come back as tuples."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        # The SQL text, and the values written into the statement itself (a LIMIT 1).
        self._compiled: tuple[str, dict[str, Any]] | None = None

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        if conn.dialect.name != "postgresql":
            return conn.execute(self.statement, params).all()
        # Only for statements that return rows (SELECT, RETURNING): psycopg builds the
        # cursor's `description` anew on each access, so it is not asked.
        rows: list[tuple[Any, ...]] = self._execute(conn, params).fetchall()
        return rows

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        row = self.first(conn, params)
        return row[0] if row is not None else None

    def many(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]], *, returning: bool = False
    ) -> list[Any]:
        """Run once per row (psycopg pipelines them); with RETURNING, each row's first
        column, in the rows' order."""
        if conn.dialect.name != "postgresql":
            result = conn.execute(self.statement, list(rows))
            return list(result.scalars()) if returning else []
        sql, literals = self._compile(conn.dialect)
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        adapted = [_adapt({**literals, **row} if literals else row) for row in rows]
        cursor.executemany(sql, adapted, returning=returning)
        if not returning:
            return []
        firsts = []
        while True:
            firsts.append(cursor.fetchone()[0])
            if not cursor.nextset():
                return firsts

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        if conn.dialect.name != "postgresql":
            conn.execute(self.statement, params)
        else:
            self._execute(conn, params)

    def _compile(self, dialect: Dialect) -> tuple[str, dict[str, Any]]:
        if self._compiled is None:
            statement = self.statement
            assert isinstance(statement, ClauseElement)
            keys = None
            if isinstance(statement, Insert) and isinstance(statement.table, Table):
                keys = list(inserted_columns(statement.table))  # see full_row
            compiled = statement.compile(dialect=dialect, column_keys=keys)
            assert isinstance(compiled, SQLCompiler)
            literals = {
                name: bind.value for name, bind in compiled.binds.items() if not bind.required
            }
            self._compiled = (str(compiled), literals)
        return self._compiled

    def _execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        # The pooled connection SQLAlchemy began the transaction on: psycopg opens it with
        # this statement if it is the first, and SQLAlchemy commits it.
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        sql, literals = self._compile(conn.dialect)
        cursor.execute(sql, _adapt({**literals, **params} if literals else params), prepare=True)
        return cursor


def _adapt(params: Mapping[str, Any]) -> dict[str, Any]:
    """What SQLAlchemy's bind processors would do for our column types: enums are stored
    by value (psycopg would send an Enum's name), JSON columns take lists and dicts."""
    adapted: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, (list, dict)):
            value = Json(value)
        adapted[key] = value
    return adapted


def full_row(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """Values for every column an INSERT compiled without values names, filled as
    SQLAlchemy would fill them: the value given, else the column's scalar default, else
    NULL (the driver is given exactly the placeholders the SQL text has)."""
    row = {key: values.get(key, default) for key, default in _defaults(table)}
    for key, make in _callable_defaults(table):
        if key not in values:
            row[key] = make(None)
    return row


def inserted_columns(table: Table) -> Iterator[str]:
    """Every column but those the database fills: the generated primary key, and columns
    with a server default or an SQL-expression default (SQLAlchemy renders that inline)."""
    generated = table.autoincrement_column
    for column in table.columns:
        default = column.default
        if column is generated or (column.server_default is not None and default is None):
            continue
        if default is not None and not (default.is_scalar or default.is_callable):
            continue
        yield column.key


@cache
def _defaults(table: Table) -> tuple[tuple[str, Any], ...]:
    def scalar(column: Column[Any]) -> Any:
        default = column.default
        return default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]

    return tuple((key, scalar(table.columns[key])) for key in inserted_columns(table))


@cache
def _callable_defaults(table: Table) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    return tuple(
        (key, default.arg)  # type: ignore[attr-defined]
        for key in inserted_columns(table)
        if (default := table.columns[key].default) is not None and default.is_callable
    )
