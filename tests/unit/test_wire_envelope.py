"""The consumers' wire decoding of the envelope (msgspec, ``WireEnvelope``) against the
contract (pydantic, ``Envelope``): what the wire decoding accepts, the contract accepts with
the same values; what the contract refuses, the wire decoding refuses too (it may refuse
more: it is strict about JSON types)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts import Actor, Envelope, Org
from shared.messaging.codec import DecodeError, decode_envelope


def envelope(**changes: Any) -> dict[str, Any]:
    base = Envelope(
        event_id=uuid.UUID(int=1),
        type="PledgeApproved",
        version=1,
        stream="pledge-p1",
        sequence=3,
        occurred_at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC),
        actor=Actor(ref="m1", role="branch_committee"),
        org=Org(unit="U01", branch="B001"),
        year=2024,
        correlation_id=uuid.UUID(int=2),
        causation_id=None,
        data={"pledge_id": "p1", "approved_on": "2024-03-01"},
    ).model_dump(mode="json")
    base.update(changes)
    return base


def both(raw: bytes) -> tuple[Envelope | None, Any]:
    try:
        contract: Envelope | None = Envelope.from_json(raw)
    except ValidationError:
        contract = None
    try:
        wire = decode_envelope(raw)
    except DecodeError:
        wire = None
    return contract, wire


def test_a_published_envelope_decodes_to_the_contracts_values() -> None:
    raw = json.dumps(envelope()).encode()
    contract, wire = both(raw)
    assert contract is not None and wire is not None
    assert wire.to_envelope() == contract
    assert wire.occurred_at.tzinfo is UTC and wire.org.branch == "B001"


INVALID = {
    "missing field": {"stream": None},
    "empty type": {"type": ""},
    "long stream": {"stream": "s" * 161},
    "sequence 0": {"sequence": 0},
    "version 0": {"version": 0},
    "year 1999": {"year": 1999},
    "year 2101": {"year": 2101},
    "naive time": {"occurred_at": "2024-03-01T02:00:00"},
    "not a time": {"occurred_at": "yesterday"},
    "bad uuid": {"event_id": "not-a-uuid"},
    "data not an object": {"data": [1, 2]},
    "actor without role": {"actor": {"ref": "m1"}},
    "empty actor ref": {"actor": {"ref": "", "role": "x"}},
    "long org branch": {"org": {"unit": None, "branch": "b" * 65}},
    "sequence as float": {"sequence": 3.5},
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_what_the_contract_refuses_the_wire_refuses(case: str) -> None:
    data = envelope(**INVALID[case])
    if data.get("stream") is None:
        data.pop("stream")
    contract, wire = both(json.dumps(data).encode())
    assert contract is None, case
    assert wire is None, case


@pytest.mark.parametrize(
    "added",
    [
        {"trace": {"id": "abc"}},
        {"actor": {"ref": "m1", "role": "branch_committee", "on_behalf_of": "m2"}},
        {"org": {"unit": "U01", "branch": "B001", "region": "north"}},
    ],
)
def test_fields_a_newer_writer_added_are_ignored_by_both(added: dict[str, Any]) -> None:
    """A reader is tolerant (docs/compatibility.md): an envelope with a field this code does
    not know decodes, at the top and inside actor and org, to the same values as without."""
    plain_contract, plain_wire = both(json.dumps(envelope()).encode())
    contract, wire = both(json.dumps(envelope(**added)).encode())
    assert contract is not None and wire is not None
    assert contract == plain_contract
    assert wire == plain_wire


def test_building_an_envelope_in_code_with_an_unknown_field_fails() -> None:
    """Writers stay strict: the contract refuses a field it does not declare when built."""
    with pytest.raises(ValidationError, match="extra"):
        Envelope(**envelope(trace="x"))


def test_the_wire_is_stricter_about_json_types() -> None:
    contract, wire = both(json.dumps(envelope(sequence="3")).encode())
    assert contract is not None and wire is None


def test_another_offset_is_taken_to_utc_as_the_contract_does() -> None:
    contract, wire = both(json.dumps(envelope(occurred_at="2024-03-01T10:00:00+08:00")).encode())
    assert contract is not None and wire is not None
    assert wire.occurred_at == contract.occurred_at and wire.occurred_at.tzinfo is UTC
    assert wire.to_envelope() == contract


def test_garbage_and_oversized_records_are_refused_with_a_reason() -> None:
    for raw in (b"", b"{", b"[]", b"null", b'{"a":1}'):
        with pytest.raises(DecodeError, match="envelope"):
            decode_envelope(raw)
    with pytest.raises(DecodeError, match="too large"):
        decode_envelope(b" " * (1024 * 1024 + 1))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=3000),
    st.text(max_size=8),
    st.sampled_from(["", "2024-03-01T02:00:00Z", "2024-03-01", str(uuid.UUID(int=5))]),
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(sorted(envelope())),
    value=st.one_of(scalars, st.dictionaries(st.text(max_size=5), scalars, max_size=3)),
)
def test_any_one_field_changed_the_wire_accepts_only_what_the_contract_accepts(
    field: str, value: Any
) -> None:
    contract, wire = both(json.dumps(envelope(**{field: value})).encode())
    if wire is not None:
        assert contract is not None
        assert wire.to_envelope() == contract
