"""A member's area of a year through HTTP on both databases: shown to the member and their
branch, refused to another branch, locked once the first pledge is approved."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.integration.pledges.conftest import YEAR, Pledges, role_token

pytestmark = pytest.mark.integration


async def test_the_area_chosen_is_read_back_and_locked_after_approval(pledges: Pledges) -> None:
    await pledges.import_roster()
    none_yet = await pledges.ok("GET", f"/members/m-a/areas/{YEAR}", pledges.member)
    assert (none_yet["area"], none_yet["area_label"], none_yet["locked"]) == (None, None, False)

    await pledges.prepare_year()  # the member chooses 安全生产 (safety)
    chosen = await pledges.ok("GET", f"/members/m-a/areas/{YEAR}", pledges.member)
    assert (chosen["area"], chosen["locked"]) == ("safety", False)
    assert chosen["area_label"]
    await pledges.walk("approved")
    locked = await pledges.ok("GET", f"/members/m-a/areas/{YEAR}", pledges.secretary)
    assert (locked["area"], locked["locked"]) == ("safety", True)

    other = await pledges.call("GET", f"/members/m-a/areas/{YEAR}", role_token(Role.MEMBER, "b"))
    assert other.status_code == 403, other.text
    unknown = await pledges.call("GET", f"/members/nobody/areas/{YEAR}", pledges.admin)
    assert unknown.status_code == 404 and "不存在" in unknown.json()["message"]
