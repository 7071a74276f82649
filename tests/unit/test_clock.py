"""The business clock (shared/clock.py): real time by default, a clock file in the embedded
profile (read again when it changes), refused in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared import clock
from shared.http import clock as request_clock
from shared.settings import Settings

pytestmark = pytest.mark.unit
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture(autouse=True)
def _real_time_after() -> object:
    yield None
    clock.configure(None)


def test_without_a_file_it_is_real_time() -> None:
    clock.configure(None)
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)


def test_a_clock_file_sets_the_time_and_moving_it_on_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock.set_clock(path, datetime(2031, 6, 30, 9, 0, tzinfo=BEIJING))
    clock.configure(path)
    assert clock.now() == datetime(2031, 6, 30, 1, 0, tzinfo=UTC)
    assert request_clock() == clock.now()  # what every request decides with
    clock.set_clock(path, datetime(2032, 1, 5, 9, 0, tzinfo=BEIJING))
    assert clock.now().astimezone(BEIJING).date().isoformat() == "2032-01-05"


def test_a_time_without_its_offset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("2031-06-30T09:00:00")
    clock.configure(path)
    with pytest.raises(RuntimeError, match="with its offset"):
        clock.now()
    with pytest.raises(ValueError, match="offset"):
        clock.set_clock(path, datetime(2031, 6, 30))


def test_production_refuses_a_clock_file() -> None:
    with pytest.raises(ValidationError, match="SUXING_CLOCK_FILE"):
        Settings(
            profile="production",
            service="pledges",
            database_url="postgresql+asyncpg://x/y",
            broker_url="kafka:9092",
            jwt_secret="x" * 40,
            clock_file="/tmp/clock",
        )
