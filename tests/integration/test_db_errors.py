"""A failing statement's error names the statement but never the values bound to it: error
paths log ``str(exc)``, and those values are people's data (issue 18)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db import Database

pytestmark = pytest.mark.integration

SECRET = "身份证号110101199003071234"


async def test_statement_errors_do_not_carry_their_parameters(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t_secret (id INTEGER PRIMARY KEY, v TEXT)"))
            await session.execute(text("INSERT INTO t_secret VALUES (1, :v)"), {"v": SECRET})
        with pytest.raises(IntegrityError) as raised:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t_secret VALUES (1, :v)"), {"v": SECRET})
        assert "INSERT INTO t_secret" in str(raised.value)
        assert SECRET not in str(raised.value) and SECRET not in repr(raised.value)
    finally:
        await db.dispose()
