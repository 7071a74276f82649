"""Who may rate whom, decided from a roster snapshot the caller passes in.

Reviewers take part where they are now: the branch they belong to when they cast. The people
rated are a period's subjects (``as_rated``): a member is reviewed for a period by the branch
they belonged to when it opened (a member who moved since is rated by the old branch, and not
by the new one until its next period), and a member exempted from the year by nobody.

The reviews service learns the roster from the pledges service's events into its own tables;
the handler loads from them what one ballot needs (the reviewer, the people it rates, the
reviewer's pairings) and the domain decides. The same rules count the eligible reviewers for
turnout (``is_eligible_reviewer``), so the denominator and the ballots always agree.

Refusals about who the reviewer is are ``Forbidden``; refusals about what the ballot says
(rating oneself, a non-member, someone of another branch) are ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from services.reviews.domain.period import ReviewPeriodState, scope_covers, scope_label
from shared.contracts.pledges import Membership
from shared.contracts.reviews import REVIEW_KIND_LABELS, BallotRole
from shared.errors import DomainError, Forbidden, InvalidInput


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One person as the roster knows them. Everyone on the roster is an employee;
    ``is_committee`` means a member of their own branch's committee."""

    person_id: str
    name: str
    branch_id: str
    unit_id: str
    membership: Membership
    is_committee: bool = False
    departed: bool = False
    reviewing_branch_id: str | None = None
    """As one period's subject (``as_rated``): the branch that reviews this member in it, the
    one they belonged to when it opened, where they moved since; ``None``: ``branch_id``."""
    exempt: bool = False
    """As one period's subject (``as_rated``): exempted from the period's year (免于评议)."""

    @property
    def reviewed_by(self) -> str:
        return self.reviewing_branch_id or self.branch_id


def as_rated(
    entry: RosterEntry, *, moves: Mapping[str, str], exempt: AbstractSet[str]
) -> RosterEntry:
    """``entry`` as a subject of one period: ``moves`` maps the members who moved while it
    was open to the branch they belonged to when it opened (DOMAIN.md section 5: that branch
    reviews them for the period); ``exempt`` holds the members exempted from its year."""
    moved = moves.get(entry.person_id)
    exempted = entry.person_id in exempt
    if moved is None and not exempted:
        return entry
    return replace(
        entry,
        reviewing_branch_id=moved if moved != entry.branch_id else None,
        exempt=exempted,
    )


@dataclass(frozen=True, slots=True)
class RosterSnapshot:
    """What one ballot's decision needs to know of the roster.

    ``reviewer`` is ``None`` when the roster does not know the person. ``rated`` holds the
    people the ballot names, as far as the roster knows them, as the period's subjects
    (``as_rated``). ``paired_members`` are the
    members the reviewer is paired with by a signed agreement on a pledge of the period's
    year (withdrawn pledges excluded).
    """

    reviewer: RosterEntry | None
    rated: Mapping[str, RosterEntry] = field(default_factory=dict)
    paired_members: frozenset[str] = frozenset()


NOT_ON_ROSTER = "花名册中没有你的信息，不能参加评议，请联系党支部核对"


def reviewer_refusal(
    reviewer: RosterEntry,
    *,
    role: BallotRole,
    period: ReviewPeriodState,
    paired_members: frozenset[str],
    probationary_members_vote: bool,
) -> DomainError | None:
    """Why ``reviewer`` may not cast a ballot in ``role`` in ``period``; ``None`` if they may.

    ``probationary_members_vote`` is the scoring policy's flag for the period's year.
    """
    if role.kind is not period.kind:
        return InvalidInput(
            f"{period.title}不能投“{role.label}”票，"
            f"请选择{REVIEW_KIND_LABELS[period.kind]}的评议身份"
        )
    if reviewer.departed:
        return Forbidden(f"{reviewer.name}已离开本单位，不能再参加评议")
    if not scope_covers(period.scope, unit_id=reviewer.unit_id, branch_id=reviewer.branch_id):
        return Forbidden(
            f"你所在的党支部不在{period.title}的评议范围（{scope_label(period.scope)}）内"
        )
    match role:
        case BallotRole.PEER:
            if not reviewer.membership.is_party_member:
                return Forbidden("党员互评由本支部党员参加，群众请参加群众评议")
            if (
                reviewer.membership is Membership.PROBATIONARY_MEMBER
                and not probationary_members_vote
            ):
                return Forbidden("按现行评议办法，预备党员不参加党员互评")
        case BallotRole.PAIRED:
            if not paired_members:
                return Forbidden("你没有与党员签订结对协议，不能以结对员工身份评议")
        case BallotRole.BRANCH:
            if not reviewer.is_committee:
                return Forbidden("只有党支部委员会成员才能进行党支部评议")
        case BallotRole.ALL_STAFF:
            # 全体员工: every employee of the branch, party members included.
            pass
    return None


def is_eligible_reviewer(
    reviewer: RosterEntry,
    *,
    role: BallotRole,
    period: ReviewPeriodState,
    paired_members: frozenset[str],
    probationary_members_vote: bool,
) -> bool:
    """For counting the eligible reviewers of a period (turnout, reminders)."""
    return (
        reviewer_refusal(
            reviewer,
            role=role,
            period=period,
            paired_members=paired_members,
            probationary_members_vote=probationary_members_vote,
        )
        is None
    )


def rated_refusal(
    member_id: str,
    *,
    reviewer: RosterEntry,
    role: BallotRole,
    rated: RosterEntry | None,
    paired_members: frozenset[str],
) -> DomainError | None:
    """Why ``reviewer`` may not rate ``member_id`` in ``role``; ``None`` if they may."""
    if member_id == reviewer.person_id:
        return InvalidInput("不能评议自己")
    if rated is None:
        return InvalidInput(f"花名册中没有编号为“{member_id}”的人员，请核对被评议党员编号")
    if not rated.membership.is_party_member:
        return InvalidInput(f"{rated.name}不是党员，不在评议对象之内")
    if rated.reviewed_by != reviewer.branch_id:
        if rated.branch_id == reviewer.branch_id:
            return InvalidInput(
                f"{rated.name}是本评议期开始后转入你所在党支部的，本期由其原党支部评议"
            )
        return InvalidInput(f"{rated.name}不是你所在党支部的党员，只能评议本支部的党员")
    if rated.departed:
        return InvalidInput(f"{rated.name}已离开本单位，不再参加评议")
    if rated.exempt:
        return InvalidInput(f"{rated.name}本年度已免于评议，不在评议对象之内")
    if role is BallotRole.PAIRED and member_id not in paired_members:
        return Forbidden(f"你没有与{rated.name}签订结对协议，以结对员工身份只能评议与你结对的党员")
    return None
