"""The card-year rule and exemptions in the pure parts of the projection (docs/scoring.md,
"Which cards exist")."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.scoring.domain import DEFAULT_ADOPTED_POLICY
from services.scoring.projections.derive import ReviewYears, Tally, card_row, on_roster
from services.scoring.projections.views import exemption_label, missing_labels

pytestmark = pytest.mark.unit


def person(
    pid: str = "m1",
    branch: str = "b1",
    *,
    membership: str = "full_member",
    registered_on: date | None = date(2031, 3, 1),
    departed_on: date | None = None,
) -> dict[str, Any]:
    return {
        "person_id": pid,
        "branch_id": branch,
        "membership": membership,
        "registered_on": registered_on,
        "departed_on": departed_on,
    }


@pytest.mark.parametrize(
    ("row", "year", "expected"),
    [
        (person(), 2031, True),  # registered in March: on the roster for part of the year
        (person(), 2030, False),  # not yet registered
        (person(), 2032, True),
        (person(registered_on=None), 2000, True),  # registered before the date was kept
        (person(membership="probationary_member"), 2031, True),
        (person(membership="non_member"), 2031, False),
        (person(departed_on=date(2032, 1, 1)), 2032, True),  # left on its first day
        (person(departed_on=date(2031, 12, 31)), 2032, False),  # left before it began
        (None, 2031, False),
    ],
)
def test_on_the_roster_during_part_of_the_year(
    row: dict[str, Any] | None, year: int, expected: bool
) -> None:
    assert on_roster(row, year) is expected


def test_review_years_of_a_branch_come_from_periods_covering_it_and_its_activity() -> None:
    years = ReviewYears(units={"b1": "u1", "b2": "u2"})
    for period in (
        (2031, "company", None, None),
        (2032, "unit", "u1", None),
        (2033, "unit", "u2", None),
        (2034, "branch", None, "b1"),
        (2035, "branch", None, "b2"),
    ):
        years.period(*period)
    years.by_branch["b1"].add(2036)  # a member's area, pledge or tally
    assert years.of("b1") == {2031, 2032, 2034, 2036}
    assert years.of("b2") == {2031, 2033, 2035}
    assert years.of("unknown") == {2031}
    people = [
        person("a", "b1"),
        person("gone", "b1", departed_on=date(2033, 6, 30)),
        person("emp", "b1", membership="non_member"),
    ]
    assert years.keys(people) == {
        ("a", 2031),
        ("a", 2032),
        ("a", 2034),
        ("a", 2036),
        ("gone", 2031),
        ("gone", 2032),
    }


def test_a_member_with_nothing_recorded_has_a_card_naming_everything_missing() -> None:
    row = card_row(
        "m1",
        2031,
        adopted=DEFAULT_ADOPTED_POLICY,
        person=person(),
        area=None,
        pledges=[],
        tallies=[],
    )
    assert (row["composite"], row["band"], row["exempt"]) == (None, None, None)
    assert row["missing"] == ["peer", "mass", "branch"]
    assert row["on_roster"] is True and row["branch_id"] == "b1"
    assert missing_labels(row["missing"], row["area"], row["exempt"]) == [
        "未选择责任区",
        "缺少党员互评结果",
        "缺少群众评议结果",
        "缺少党支部评议结果",
    ]


def _tally(kind: str, period: str) -> Tally:
    return Tally(kind, period, "counted", 5, "90.00", None, None, 5, "b1", f"{kind}-{period}")


def test_an_exempt_member_has_no_composite_band_or_missing_review() -> None:
    tallies = [_tally("peer", "Q1"), _tally("mass", "H1"), _tally("branch", "H1")]
    exemption = {"reason": "long_term_illness", "reason_text": None, "revoked": False}
    row = card_row(
        "m1",
        2031,
        adopted=DEFAULT_ADOPTED_POLICY,
        person=person(),
        area={"area": "safety", "branch_id": "b1"},
        pledges=[],
        tallies=tallies,
        exemption=exemption,
    )
    assert (row["composite"], row["band"], row["missing"]) == (None, None, [])
    assert (row["exempt"], row["exempt_text"]) == ("long_term_illness", None)
    assert missing_labels(row["missing"], None, row["exempt"]) == []
    # Revoked, the same facts give the composite again.
    revoked = card_row(
        "m1",
        2031,
        adopted=DEFAULT_ADOPTED_POLICY,
        person=person(),
        area={"area": "safety", "branch_id": "b1"},
        pledges=[],
        tallies=tallies,
        exemption={**exemption, "revoked": True},
    )
    assert revoked["composite"] == "90.00" and revoked["exempt"] is None


def test_exemption_labels() -> None:
    assert exemption_label(None, None) is None
    assert exemption_label("retired", None) == "免于评议（退休）"
    assert exemption_label("mobile_member", None) == "免于评议（流动党员）"
    assert exemption_label("other", "外派援建") == "免于评议（其他：外派援建）"
