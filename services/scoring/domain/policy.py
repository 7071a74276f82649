"""The scoring policy in force for a year: an aggregate per year, stream ``scoring-policy-{year}``.

Its state also knows which branches have finalized the year: the handler folds the year's
``YearResultsFinalized`` events (from the branch-results streams) into it, because a policy
may not change under results that are already final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict

from services.scoring.commands import AdoptScoringPolicy
from shared.contracts.reviews import ANONYMOUS_GROUP_FLOOR
from shared.contracts.scoring import (
    SEED_POLICY,
    ScoringPolicy,
    ScoringPolicyAdopted,
    YearResultsFinalized,
)
from shared.errors import Conflict, InvalidInput

DEFAULT_POLICY_ID = "default"

DEFAULT_POLICY = SEED_POLICY
"""The seed's policy (DOMAIN.md): weights 30/40/30, bands 60/75/85/95, halves 50/50."""


class AdoptedPolicy(BaseModel):
    """A policy with the id it was adopted under; cards and publications cite the id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_id: str
    policy: ScoringPolicy


DEFAULT_ADOPTED_POLICY = AdoptedPolicy(policy_id=DEFAULT_POLICY_ID, policy=DEFAULT_POLICY)


def policy_stream(year: int) -> str:
    return f"scoring-policy-{year}"


@dataclass(frozen=True)
class PolicyYear:
    year: int
    adopted: AdoptedPolicy | None = None
    used_policy_ids: frozenset[str] = frozenset()
    finalized_branches: frozenset[str] = frozenset()


PolicyYearEvent = ScoringPolicyAdopted | YearResultsFinalized


def tally_rules(policy: ScoringPolicy) -> tuple[object, ...]:
    """What the reviews service applies when it tallies a closed period: once one of the
    year's periods is tallied these are part of its final figures."""
    return (
        policy.min_ballots,
        policy.mass_paired_share,
        policy.mass_single_part_counts,
        policy.satisfaction_threshold,
    )


def adopt_policy(
    state: PolicyYear | None, command: AdoptScoringPolicy, *, tallied_periods: int = 0
) -> ScoringPolicyAdopted:
    """``tallied_periods``: how many of the year's review periods are closed and tallied."""
    minimums = command.policy.min_ballots
    if min(minimums.peer, minimums.mass) < ANONYMOUS_GROUP_FLOOR:
        raise InvalidInput(
            f"党员互评和群众评议的最少票数不能少于 {ANONYMOUS_GROUP_FLOOR} 票："
            "票数更少时，平均分会暴露个人的评分"
        )
    if tallied_periods and tally_rules(command.policy) != tally_rules(
        policy_in_force(state).policy
    ):
        raise Conflict(
            f"{command.year}年度已有 {tallied_periods} 个评议期结束并统计了结果，"
            "已结束的评议期不再改变：最少票数、结对群众评议比例、单项计入规则和满意标准"
            "不能再更改；权重和分档在结果定稿前仍可调整"
        )
    if state is not None:
        _same_year(state, command.year)
        if state.finalized_branches:
            raise Conflict(
                f"{command.year}年度已有 {len(state.finalized_branches)} 个支部的评议结果定稿，"
                "不能再更改本年度的评分办法"
            )
        if command.policy_id in state.used_policy_ids:
            raise Conflict(
                f"评分办法编号“{command.policy_id}”在{command.year}年度已经使用过，请换一个编号"
            )
    return ScoringPolicyAdopted(
        year=command.year, policy_id=command.policy_id, policy=command.policy
    )


def evolve_policy_year(state: PolicyYear | None, event: PolicyYearEvent) -> PolicyYear:
    current = state if state is not None else PolicyYear(year=event.year)
    _same_year(current, event.year)
    if isinstance(event, ScoringPolicyAdopted):
        return replace(
            current,
            adopted=AdoptedPolicy(policy_id=event.policy_id, policy=event.policy),
            used_policy_ids=current.used_policy_ids | {event.policy_id},
        )
    return replace(current, finalized_branches=current.finalized_branches | {event.branch_id})


def replay_policy_year(events: Iterable[PolicyYearEvent]) -> PolicyYear | None:
    state: PolicyYear | None = None
    for event in events:
        state = evolve_policy_year(state, event)
    return state


def policy_in_force(state: PolicyYear | None) -> AdoptedPolicy:
    """The last policy adopted for the year, or the seed's when none was."""
    if state is None or state.adopted is None:
        return DEFAULT_ADOPTED_POLICY
    return state.adopted


def _same_year(state: PolicyYear, year: int) -> None:
    # A mismatch means the caller loaded the wrong stream: a bug, not a user error.
    if state.year != year:
        raise ValueError(f"policy stream of {state.year} given an event or command of {year}")
