"""Who reads which pledges (issue 14, "Trust in the review"). One rule for every read that
shows a pledge, whole or in part:

- the organization department (``Role.ORG_ADMIN``) reads every pledge;
- the committee of a branch reads every pledge of its branch, in every state;
- the staff of a branch (members and employees) read its pledges once published
  (``made_public``: published and every step after, a carried-over pledge when it was
  published), and everyone reads their own pledges
  in every state;
- nobody else reads any: what is public is on the public board (``published_pledges``).

A pledge that may not be read is answered as unknown (404) or left out of a list, so a
refusal does not confirm it exists. The committee's review notes (the reasons it sent the
pledge back for revision or returned it at acceptance) are addressed to the member: other
staff read the published pledge without them.

Operators keep the system running and the roster; they read no pledge through the API.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, true

from services.pledges import persistence as t
from services.pledges.domain import MADE_PUBLIC, PledgeStatus
from shared.auth import Principal, Role

_STAFF = frozenset({Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE})


def reads_every_branch(reader: Principal) -> bool:
    return reader.has(Role.ORG_ADMIN)


def on_committee_of(reader: Principal, branch_id: str) -> bool:
    return reader.has(Role.BRANCH_COMMITTEE) and reader.branch_id == branch_id


def staff_of(reader: Principal, branch_id: str) -> bool:
    return reader.branch_id == branch_id and not reader.roles.isdisjoint(_STAFF)


def may_read_branch_pledges(reader: Principal, branch_id: str) -> bool:
    """Whether a branch's pledge lists (ledger, needs, overdue, all pledges) are open to the
    reader at all; which rows they then show is ``readable_pledges``."""
    return reads_every_branch(reader) or staff_of(reader, branch_id)


def made_public() -> ColumnElement[bool]:
    """The rows of pledges that have been made public (step 5): published and every step
    after; a carried-over pledge if it had been published before it was carried over."""
    return or_(
        t.pledges.c.status.in_([status.value for status in MADE_PUBLIC]),
        and_(
            t.pledges.c.status == PledgeStatus.CARRIED_OVER.value,
            t.pledges.c.published_on.is_not(None),
        ),
    )


def readable_pledges(reader: Principal) -> ColumnElement[bool]:
    """The rows of ``pl_pledges`` the reader may read, as a condition for a query."""
    if reads_every_branch(reader):
        return true()
    own = t.pledges.c.member_id == reader.person_id
    if reader.branch_id is None or reader.roles.isdisjoint(_STAFF):
        return own
    in_branch = t.pledges.c.branch_id == reader.branch_id
    if reader.has(Role.BRANCH_COMMITTEE):
        return or_(own, in_branch)
    return or_(own, and_(in_branch, made_public()))


def reads_review_notes(reader: Principal, *, member_id: str, branch_id: str) -> bool:
    """The revision and return reasons: for the member, the committee and the organization
    department."""
    return (
        reader.person_id == member_id
        or reads_every_branch(reader)
        or on_committee_of(reader, branch_id)
    )
