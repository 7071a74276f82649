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


def objection_judge(principal: Principal, branch_id: str) -> Role:
    """The branch committee decides objections; the organization department (standing in
    for the unit committee) decides one the committee may not, such as a committee
    member's objection to their own result."""
    require_branch_role(
        principal, Role.BRANCH_COMMITTEE, branch_id, action="对异议作出决定", allow_org_admin=True
    )
    return Role.ORG_ADMIN if principal.has(Role.ORG_ADMIN) else Role.BRANCH_COMMITTEE


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


def card_reader(principal: Principal, member_id: str, branch_id: str | None) -> None:
    """A card is read by its member, the member's branch committee and the organization
    department (the public board shows what is published to everyone)."""
    if principal.person_id == member_id or principal.has(Role.ORG_ADMIN):
        return
    if principal.has(Role.BRANCH_COMMITTEE) and branch_id and principal.branch_id == branch_id:
        return
    raise Forbidden("只有本人、所在支部的支委会成员或组织部管理员可以查看积分卡")


def branch_reader(principal: Principal, branch_id: str) -> None:
    require_branch_role(
        principal,
        Role.BRANCH_COMMITTEE,
        branch_id,
        action="查看和导出本支部的评议结果",
        allow_org_admin=True,
    )


def statistics_reader(principal: Principal, scope: str, scope_id: str | None) -> None:
    """The organization department sees every scope; a branch committee its own branch."""
    if principal.has(Role.ORG_ADMIN):
        return
    if (
        scope == "branch"
        and principal.has(Role.BRANCH_COMMITTEE)
        and principal.branch_id is not None
        and principal.branch_id == scope_id
    ):
        return
    raise Forbidden(
        "只有组织部管理员可以查看全公司和二级党委的统计；支委会成员可以查看本支部的统计"
    )
