"""Who may do what in the reviews service, from the token. Whether a person may rate whom is
the domain's (``services.reviews.domain.eligibility``), decided from the roster.

Each check raises ``Forbidden`` with the reason before anything is read or written, and
returns the role the person acted in, which the events record as the actor's role.
"""

from __future__ import annotations

from services.reviews.domain import Authority
from shared.auth import Principal, Role, require_branch_role, require_role
from shared.contracts.reviews import BallotRole, ReviewScope, ScopeLevel
from shared.errors import Forbidden

_BALLOT_ROLES: dict[BallotRole, tuple[Role, str]] = {
    BallotRole.PEER: (Role.MEMBER, "参加党员互评"),
    BallotRole.ALL_STAFF: (Role.EMPLOYEE, "参加群众评议"),
    BallotRole.PAIRED: (Role.EMPLOYEE, "以结对员工身份参加群众评议"),
    BallotRole.BRANCH: (Role.BRANCH_COMMITTEE, "进行党支部评议"),
}


def organizer(principal: Principal) -> Authority:
    """The organization department organizes any scope, a unit committee member their own
    unit's scope, a branch committee member their own branch; the domain says no to anyone
    else, with the reason."""
    return Authority(
        organization_department=principal.has(Role.ORG_ADMIN),
        committee_of_unit=principal.unit_id if principal.has(Role.UNIT_COMMITTEE) else None,
        committee_of_branch=(principal.branch_id if principal.has(Role.BRANCH_COMMITTEE) else None),
    )


def organizer_role(principal: Principal, scope: ReviewScope) -> Role:
    """The role an organizer the domain let through acted in, for the events' actor."""
    if principal.has(Role.ORG_ADMIN):
        return Role.ORG_ADMIN
    if scope.level is ScopeLevel.UNIT and principal.has(Role.UNIT_COMMITTEE):
        return Role.UNIT_COMMITTEE
    return Role.BRANCH_COMMITTEE


def reviewer(principal: Principal, role: BallotRole) -> Role:
    """The token must hold the role the ballot is cast in; the roster decides the rest."""
    needed, action = _BALLOT_ROLES[role]
    require_role(principal, needed, action=action)
    return needed


def branch_overseer(principal: Principal, branch_id: str, *, action: str) -> None:
    """Turnout and the branch overview: the branch's committee or the organization
    department."""
    require_branch_role(
        principal, Role.BRANCH_COMMITTEE, branch_id, action=action, allow_org_admin=True
    )


_SCOPE_READERS = {
    ScopeLevel.COMPANY: "只有组织部管理员可以查看全公司的参评情况",
    ScopeLevel.UNIT: "只有组织部管理员或本单位的二级党委成员可以查看二级党委的参评情况",
    ScopeLevel.BRANCH: (
        "只有组织部管理员、所属二级党委成员或本支部的支委会成员可以查看党支部的参评情况"
    ),
}


def scope_turnout_reader(
    principal: Principal, level: ScopeLevel, scope_id: str | None, *, unit_id: str | None
) -> None:
    """Turnout counts of a scope: the organization department anywhere, a unit committee its
    unit and the unit's branches, a branch committee its branch. ``unit_id`` is the unit of
    the scope as the roster knows it (None when the unit or branch is unknown, which the
    refusal does not tell anyone but the organization department)."""
    if principal.has(Role.ORG_ADMIN):
        return
    if level is not ScopeLevel.COMPANY:
        if (
            principal.has(Role.UNIT_COMMITTEE)
            and principal.unit_id is not None
            and principal.unit_id == unit_id
        ):
            return
        if (
            level is ScopeLevel.BRANCH
            and principal.has(Role.BRANCH_COMMITTEE)
            and principal.branch_id is not None
            and principal.branch_id == scope_id
        ):
            return
    raise Forbidden(_SCOPE_READERS[level])


def results_reader(principal: Principal, member_id: str, branch_id: str) -> None:
    """A member's results: the member, their branch's committee, the organization
    department."""
    if principal.person_id == member_id:
        return
    require_branch_role(
        principal,
        Role.BRANCH_COMMITTEE,
        branch_id,
        action="查看其他党员的评议结果",
        allow_org_admin=True,
    )
