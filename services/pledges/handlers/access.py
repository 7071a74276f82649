"""Who may do what in the pledges service (issue 3, "Who may do what").

Each check raises ``Forbidden`` with the reason, before anything is appended, and returns
the role the person acted in, which the events record as the actor's role.
"""

from __future__ import annotations

from services.pledges.domain import PersonState, PledgeState
from shared.auth import Principal, Role, require_branch_role, require_role, require_self
from shared.errors import Forbidden


def member_for_self(principal: Principal, person_id: str, *, action: str) -> Role:
    """Members act for themselves: declare, revise, withdraw, choose an area, apply."""
    require_role(principal, Role.MEMBER, action=action)
    require_self(principal, person_id, action=action)
    return Role.MEMBER


def committee_of(principal: Principal, branch_id: str, *, action: str) -> Role:
    """Only the committee of the branch concerned approves, publishes, keeps the ledger,
    accepts, adopts the plan and classifies needs."""
    require_branch_role(principal, Role.BRANCH_COMMITTEE, branch_id, action=action)
    return Role.BRANCH_COMMITTEE


def judge_of_pledge(
    principal: Principal,
    pledge: PledgeState,
    member: PersonState | None,
    *,
    action: str,
    unit_id: str | None = None,
) -> Role:
    """Who decides on a pledge: approves it, sends it back for revision, keeps its ledger,
    accepts it or returns it. The committee of the pledge's branch does; but no one judges
    their own case (DOMAIN.md §3, "Secrecy"): a committee member's own pledge is decided by
    another member of the committee, or by the unit committee (二级党委) of the branch's unit
    (``unit_id``; the token's unit). The organization department stands in for the unit
    committee, and only where it would act: on the pledge of a member who sits on the
    committee of the pledge's branch (``member``, from the roster). An ordinary member's
    pledge stays the branch committee's.
    """
    on_committee = (
        member is not None
        and member.branch_id == pledge.branch_id
        and member.committee_position is not None
    )
    unit_committee = (
        principal.has(Role.UNIT_COMMITTEE) and unit_id is not None and principal.unit_id == unit_id
    )
    if principal.has(Role.BRANCH_COMMITTEE) and principal.branch_id == pledge.branch_id:
        role = Role.BRANCH_COMMITTEE
    elif unit_committee and on_committee:
        role = Role.UNIT_COMMITTEE
    elif principal.has(Role.ORG_ADMIN) and on_committee:
        role = Role.ORG_ADMIN
    elif on_committee:
        raise Forbidden(f"只有本支部另一名支委会成员或所属二级党委可以{action}")
    elif unit_committee or principal.has(Role.ORG_ADMIN):
        raise Forbidden(f"只有本支部的支委会成员可以{action}；二级党委只办理支委会成员本人的承诺")
    else:
        raise Forbidden(f"只有本支部的{Role.BRANCH_COMMITTEE.label}可以{action}")
    if principal.person_id == pledge.member_id:
        raise Forbidden(
            f"不能{action}：这是您本人的承诺，须由本支部另一名支委会成员或所属二级党委办理"
        )
    return role


def employee_in_branch(
    principal: Principal, person_id: str, branch_id: str, *, action: str
) -> Role:
    """Employees submit their own needs, in their own branch."""
    require_branch_role(principal, Role.EMPLOYEE, branch_id, action=action)
    require_self(principal, person_id, action=action)
    return Role.EMPLOYEE


def roster_manager(principal: Principal, *, action: str) -> Role:
    """The organization department and operators keep the roster."""
    require_role(principal, Role.ORG_ADMIN, Role.OPERATOR, action=action)
    return Role.ORG_ADMIN if principal.has(Role.ORG_ADMIN) else Role.OPERATOR


def exemption_recorder(
    principal: Principal, branch_id: str, unit_id: str | None, *, action: str
) -> Role:
    """Exemptions (DOMAIN.md section 5) are recorded by the committee of the member's branch,
    the unit committee (二级党委) of that branch's unit, or the organization department."""
    if principal.has(Role.BRANCH_COMMITTEE) and principal.branch_id == branch_id:
        return Role.BRANCH_COMMITTEE
    if principal.has(Role.UNIT_COMMITTEE) and unit_id is not None and principal.unit_id == unit_id:
        return Role.UNIT_COMMITTEE
    if principal.has(Role.ORG_ADMIN):
        return Role.ORG_ADMIN
    raise Forbidden(
        f"只有党员所在支部的{Role.BRANCH_COMMITTEE.label}、所属二级党委或"
        f"{Role.ORG_ADMIN.label}可以{action}"
    )
