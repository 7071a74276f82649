"""A branch's unit is kept in memory once read (services/pledges/handlers/base.py): only from
committed rows, so a registration that was rolled back leaves nothing behind."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest

from services.pledges.commands import RegisterBranch, RegisterUnit
from services.pledges.handlers.base import UnitOfWork, unit_of_work
from services.pledges.handlers.roster import apply_register_branch, apply_register_unit
from shared.auth import Principal, Role
from shared.db import Database
from shared.eventstore import EventStore
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

NOW = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
ADMIN = Principal(person_id="pl-admin", name="管理员", roles=frozenset({Role.ORG_ADMIN}))


class Abandoned(Exception):
    pass


async def test_a_rolled_back_registration_leaves_no_unit_in_memory(database_url: str) -> None:
    await asyncio.to_thread(upgrade, "pledges", database_url)
    db, store = Database(database_url), EventStore()

    def begin() -> AbstractAsyncContextManager[UnitOfWork]:
        return unit_of_work(db=db, store=store, principal=ADMIN, now=NOW)

    try:
        async with begin() as uow:
            for unit in ("bu-u1", "bu-u2"):
                await apply_register_unit(
                    uow, RegisterUnit(unit_id=unit, name=f"党委{unit}"), Role.ORG_ADMIN
                )
        with pytest.raises(Abandoned):
            async with begin() as uow:
                command = RegisterBranch(branch_id="bu-b1", unit_id="bu-u1", name="一支部")
                await apply_register_branch(uow, command, Role.ORG_ADMIN)
                assert (await uow.org_of_branch("bu-b1")).unit == "bu-u1"
                raise Abandoned
        async with begin() as uow:
            command = RegisterBranch(branch_id="bu-b1", unit_id="bu-u2", name="一支部")
            await apply_register_branch(uow, command, Role.ORG_ADMIN)
        for _ in range(2):  # read from the table, then from memory
            async with begin() as uow:
                assert (await uow.org_of_branch("bu-b1")).unit == "bu-u2"
    finally:
        await db.dispose()
