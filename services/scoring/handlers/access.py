"""Who may do what in the scoring service. Each check raises ``Forbidden`` with the reason
before anything is read or appended, and returns the role the person acts in."""

from __future__ import annotations

from shared.auth import Principal, Role, require_branch_role, require_role
from shared.errors import Forbidden


def policy_maker(principal: Principal) -> Role:
    """The organization department adopts the scoring policy."""
    require_role(principal, Role.ORG_ADMIN, action="制定评分办法")
    return Role.ORG_ADMIN


def committee_of(principal: Principal, branch_id: str, *, action: str) -> Role:
    """The branch committee publishes its branch's results and decides objections."""
    require_branch_role(principal, Role.BRANCH_COMMITTEE, branch_id, action=action)
    return Role.BRANCH_COMMITTEE


def unit_committee_of(principal: Principal, unit_id: str | None) -> bool:
    """The person sits on the unit committee (二级党委) the branch belongs to."""
    return (
        principal.has(Role.UNIT_COMMITTEE)
        and unit_id is not None
        and principal.unit_id is not None
        and principal.unit_id == unit_id
    )


def objection_judge(principal: Principal, branch_id: str, unit_id: str | None) -> Role:
    """The branch committee decides objections; the branch's unit committee decides one
    escalated to it, such as a committee member's objection to their own result (the
    organization department may stand in)."""
    if unit_committee_of(principal, unit_id):
        return Role.UNIT_COMMITTEE
    if principal.has(Role.ORG_ADMIN):
        return Role.ORG_ADMIN
    if principal.has(Role.BRANCH_COMMITTEE) and principal.branch_id == branch_id:
        return Role.BRANCH_COMMITTEE
    raise Forbidden("只有本支部的支委会成员、所属二级党委或组织部管理员可以对异议作出决定")


def finalizer_of(principal: Principal, branch_id: str) -> Role:
    """After the notice window the committee finalizes; operators may run the due check."""
    if principal.has(Role.OPERATOR):
        return Role.OPERATOR
    require_branch_role(
        principal, Role.BRANCH_COMMITTEE, branch_id, action="确认评议结果定稿", allow_org_admin=True
    )
    return Role.ORG_ADMIN if principal.has(Role.ORG_ADMIN) else Role.BRANCH_COMMITTEE


def due_checker(principal: Principal) -> Role:
    require_role(principal, Role.OPERATOR, Role.ORG_ADMIN, action="检查到期的公示并定稿")
    return Role.OPERATOR if principal.has(Role.OPERATOR) else Role.ORG_ADMIN


def objector(principal: Principal) -> Role:
    require_role(principal, Role.MEMBER, action="对评议结果提出异议")
    return Role.MEMBER


def card_reader(
    principal: Principal, member_id: str, branch_id: str | None, unit_id: str | None = None
) -> None:
    """A card is read by its member, the branch committee of the branch it was kept in, that
    branch's unit committee and the organization department (the public board shows what
    is published to everyone)."""
    if principal.person_id == member_id or principal.has(Role.ORG_ADMIN):
        return
    if principal.has(Role.BRANCH_COMMITTEE) and branch_id and principal.branch_id == branch_id:
        return
    if unit_committee_of(principal, unit_id):
        return
    raise Forbidden("只有本人、所在支部的支委会成员、所属二级党委或组织部管理员可以查看积分卡")


def branch_reader(principal: Principal, branch_id: str, unit_id: str | None = None) -> None:
    """A branch's results: its committee, its unit committee, the organization department."""
    if unit_committee_of(principal, unit_id):
        return
    if principal.has(Role.ORG_ADMIN):
        return
    if principal.has(Role.BRANCH_COMMITTEE) and principal.branch_id == branch_id:
        return
    raise Forbidden(
        "只有本支部的支委会成员、所属二级党委或组织部管理员可以查看和导出本支部的评议结果"
    )


def statistics_reader(
    principal: Principal, scope: str, scope_id: str | None, unit_id: str | None = None
) -> None:
    """The organization department sees every scope; a unit committee its unit and the
    unit's branches (``unit_id``: the unit of the scope); a branch committee its branch."""
    if principal.has(Role.ORG_ADMIN):
        return
    if scope != "company" and unit_committee_of(principal, unit_id):
        return
    if (
        scope == "branch"
        and principal.has(Role.BRANCH_COMMITTEE)
        and principal.branch_id is not None
        and principal.branch_id == scope_id
    ):
        return
    raise Forbidden(
        "只有组织部管理员可以查看全公司的统计；二级党委可以查看本单位及所属支部的统计；"
        "支委会成员可以查看本支部的统计"
    )
