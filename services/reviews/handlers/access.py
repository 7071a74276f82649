"""Who may do what in the reviews service, from the token. Whether a person may rate whom is
the domain's (``services.reviews.domain.eligibility``), decided from the roster.

Each check raises ``Forbidden`` with the reason before anything is read or written, and
returns the role the person acted in, which the events record as the actor's role.
"""

from __future__ import annotations

from services.reviews.domain import Authority
from shared.auth import Principal, Role, require_branch_role, require_role
from shared.contracts.reviews import BallotRole

_BALLOT_ROLES: dict[BallotRole, tuple[Role, str]] = {
    BallotRole.PEER: (Role.MEMBER, "参加党员互评"),
    BallotRole.ALL_STAFF: (Role.EMPLOYEE, "参加群众评议"),
    BallotRole.PAIRED: (Role.EMPLOYEE, "以结对员工身份参加群众评议"),
    BallotRole.BRANCH: (Role.BRANCH_COMMITTEE, "进行党支部评议"),
}


def organizer(principal: Principal) -> tuple[Authority, Role]:
    """The organization department organizes any scope, a branch committee member their own
    branch; the domain says no to anyone else, with the reason."""
    if principal.has(Role.ORG_ADMIN):
        return Authority(organization_department=True), Role.ORG_ADMIN
    if principal.has(Role.BRANCH_COMMITTEE) and principal.branch_id is not None:
        return Authority(committee_of_branch=principal.branch_id), Role.BRANCH_COMMITTEE
    return Authority(), Role.BRANCH_COMMITTEE


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
