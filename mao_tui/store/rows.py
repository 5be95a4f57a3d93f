"""Rows as read-model fields: each column by name; a ``<name>_json`` column decoded as ``name``."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def fields(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row is not a Mapping)


def decoded(row: sqlite3.Row) -> dict[str, Any]:
    """Like :func:`fields`, with each ``<name>_json`` column parsed and named ``name``."""
    return {
        key.removesuffix("_json"): json.loads(value) if key.endswith("_json") else value
        for key, value in fields(row).items()
    }


async def session_rows(
    conn: aiosqlite.Connection, columns: str, table: str, session_id: str, order: str = "id"
) -> list[dict[str, Any]]:
    """One session's rows of ``table``, decoded, in ``order``."""
    rows = await conn.execute_fetchall(
        f"SELECT {columns} FROM {table} WHERE session_id = ? ORDER BY {order}", (session_id,)
    )
    return [decoded(row) for row in rows]


async def session_records(
    conn: aiosqlite.Connection,
    model: type[Model],
    columns: str,
    table: str,
    session_id: str,
    order: str = "id",
) -> list[Model]:
    """One session's rows of ``table`` as read models, in ``order``."""
    rows = await session_rows(conn, columns, table, session_id, order)
    return [model.model_validate(row) for row in rows]
