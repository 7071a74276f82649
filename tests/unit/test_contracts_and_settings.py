"""Contracts (registry, envelope, encoding) and settings: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.contracts import Envelope, Event, EventRegistry, UnknownEventType, event_type
from shared.contracts.encoding import canonical_json
from shared.settings import DEFAULT_SECRET, Settings

pytestmark = pytest.mark.unit


def make_registry() -> EventRegistry:
    registry = EventRegistry()

    @event_type("Renamed", 1, registry=registry)
    class RenamedV1(Event):
        name: str

    @event_type("Renamed", 2, registry=registry)
    class RenamedV2(Event):
        first: str
        last: str

    @event_type("Renamed", 3, registry=registry)
    class Renamed(Event):
        first: str
        last: str
        locale: str

    @registry.upcaster("Renamed", from_version=1)
    def split(data: dict[str, object]) -> dict[str, object]:
        first, _, last = str(data["name"]).partition(" ")
        return {"first": first, "last": last}

    @registry.upcaster("Renamed", from_version=2)
    def add_locale(data: dict[str, object]) -> dict[str, object]:
        return {**data, "locale": "zh-CN"}

    return registry


def test_old_versions_are_upcast_step_by_step_to_the_current_model() -> None:
    registry = make_registry()
    event = registry.decode("Renamed", 1, {"name": "Zhang San"})
    assert event.model_dump() == {"first": "Zhang", "last": "San", "locale": "zh-CN"}
    assert registry.current_version("Renamed") == 3


def test_unknown_type_and_future_version_are_refused_with_a_reason() -> None:
    registry = make_registry()
    with pytest.raises(UnknownEventType, match="unknown event type"):
        registry.decode("Nope", 1, {})
    with pytest.raises(UnknownEventType, match="newer than this code knows"):
        registry.decode("Renamed", 4, {})


def test_registering_a_different_model_under_a_taken_name_fails() -> None:
    registry = make_registry()
    with pytest.raises(ValueError, match="already registered"):

        @event_type("Renamed", 3, registry=registry)
        class Other(Event):
            x: int


def test_writers_are_strict_an_event_built_with_an_unknown_field_fails() -> None:
    registry = make_registry()
    model = registry.model("Renamed")
    with pytest.raises(ValidationError, match="extra"):
        model(first="a", last="b", locale="x", extra=1)
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({"first": "a", "last": "b", "locale": "x", "extra": 1})


def test_readers_are_tolerant_an_added_optional_field_is_ignored_at_every_depth() -> None:
    """An old reader decodes a new event with an added optional field (docs/compatibility.md):
    the registry ignores fields it does not know, in the payload and in nested objects, and
    still refuses what breaks the contract it knows (a missing or mistyped field)."""
    registry = EventRegistry()

    class Part(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        quarter: int

    @event_type("Planned", 1, registry=registry)
    class Planned(Event):
        name: str
        parts: list[Part]

    newer = {"name": "a", "parts": [{"quarter": 1, "note": "new"}], "priority": "high"}
    event = registry.decode("Planned", 1, newer)
    assert event == Planned(name="a", parts=[Part(quarter=1)])
    with pytest.raises(ValidationError):
        registry.decode("Planned", 1, {"parts": [], "priority": "high"})
    with pytest.raises(ValidationError):
        registry.decode("Planned", 1, {"name": "a", "parts": [{"quarter": "first"}]})


def test_canonical_json_is_sorted_compact_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": "党员"}) == '{"a":"党员","b":1}'.encode()


def test_envelope_normalises_time_to_utc_and_round_trips() -> None:
    beijing = timezone(timedelta(hours=8))
    envelope = Envelope(
        event_id=uuid.uuid4(),
        type="Renamed",
        version=3,
        stream="person-1",
        sequence=1,
        occurred_at=datetime(2026, 3, 1, 8, 0, tzinfo=beijing),
        actor={"ref": "p1", "role": "member"},
        org={"unit": "u1", "branch": "b1"},
        year=2026,
        correlation_id=uuid.uuid4(),
        data={"first": "张", "last": "三", "locale": "zh-CN"},
    )
    assert envelope.occurred_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert Envelope.from_json(envelope.to_json()) == envelope


def test_envelope_refuses_naive_times_and_bad_sequences() -> None:
    base = {
        "event_id": uuid.uuid4(),
        "type": "X",
        "version": 1,
        "stream": "s",
        "sequence": 1,
        "occurred_at": datetime(2026, 1, 1),
        "actor": {"ref": "p", "role": "member"},
        "org": {},
        "correlation_id": uuid.uuid4(),
        "data": {},
    }
    with pytest.raises(ValidationError, match="time zone"):
        Envelope.model_validate(base)
    with pytest.raises(ValidationError):
        Envelope.model_validate({**base, "occurred_at": datetime.now(UTC), "sequence": 0})


def test_embedded_profile_defaults_to_sqlite_in_the_data_dir() -> None:
    settings = Settings(_env_file=None, service="reviews", data_dir="x")  # type: ignore[call-arg]
    assert settings.resolved_database_url() == "sqlite+aiosqlite:///x/reviews.db"
    assert settings.resolved_port() == 8102


def test_production_refuses_the_default_secret_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUXING_PROFILE", "production")
    monkeypatch.setenv("SUXING_DATABASE_URL", "postgresql+asyncpg://db/pledges")
    monkeypatch.setenv("SUXING_BROKER_URL", "kafka:9092")
    monkeypatch.setenv("SUXING_JWT_SECRET", DEFAULT_SECRET)
    with pytest.raises(ValidationError, match="SUXING_JWT_SECRET"):
        Settings()


def test_production_needs_explicit_database_and_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUXING_PROFILE", "production")
    with pytest.raises(ValidationError, match="SUXING_DATABASE_URL, SUXING_BROKER_URL"):
        Settings()


def test_the_production_portal_needs_the_services_not_a_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUXING_PROFILE", "production")
    monkeypatch.setenv("SUXING_JWT_SECRET", "x" * 40)
    with pytest.raises(ValueError, match="SUXING_PLEDGES_URL, SUXING_REVIEWS_URL"):
        Settings(service="portal", pledges_url=None, reviews_url=None, scoring_url=None)
    settings = Settings(
        service="portal",
        pledges_url="http://pledges:8101",
        reviews_url="http://reviews:8102",
        scoring_url="http://scoring:8103/",
    )
    assert settings.service_url("scoring") == "http://scoring:8103"


def test_production_client_settings_differ_from_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUXING_BROKER_URL", "kafka:9092")
    embedded = Settings().kafka()
    monkeypatch.setenv("SUXING_PROFILE", "production")
    monkeypatch.setenv("SUXING_DATABASE_URL", "postgresql+asyncpg://db/pledges")
    monkeypatch.setenv("SUXING_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("SUXING_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    production = Settings().kafka()
    assert embedded.session_timeout_ms == 3000 and not embedded.enable_idempotence
    assert production.session_timeout_ms >= 6000 and production.enable_idempotence
