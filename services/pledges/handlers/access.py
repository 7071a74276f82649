"""Who may do what in the pledges service (issue 3, "Who may do what").

Each check raises ``Forbidden`` with the reason, before anything is appended, and returns
the role the person acted in, which the events record as the actor's role.
"""

from __future__ import annotations

from shared.auth import Principal, Role, require_branch_role, require_role, require_self


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
