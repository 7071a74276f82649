"""Roster import from CSV: every line is checked first, then the whole file is applied in one
transaction, or nothing is.

Columns (UTF-8, a BOM is fine; header names in English):
``unit_id, unit_name, branch_id, branch_name, person_id, name, kind`` and optionally
``post`` and ``committee_position``. ``kind`` is ``member`` (正式党员), ``probationary``
(预备党员) or ``employee`` (群众); the Chinese words are accepted too. Registration decides
nothing for what is already known, so importing the same file again records no event.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any, Unpack

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.pledges.commands import (
    AppointCommitteeMember,
    RegisterBranch,
    RegisterPerson,
    RegisterUnit,
)
from services.pledges.handlers.access import roster_manager
from services.pledges.handlers.base import UnitOfWork, unit_of_work
from services.pledges.handlers.roster import (
    apply_appoint_committee_member,
    apply_register_branch,
    apply_register_person,
    apply_register_unit,
)
from shared.auth import Role
from shared.contracts.pledges import CommitteePosition, Membership
from shared.errors import ConcurrencyError, DomainError, InvalidInput
from shared.handlers import Dependencies

REQUIRED = ("unit_id", "unit_name", "branch_id", "branch_name", "person_id", "name", "kind")
OPTIONAL = ("post", "committee_position")
MAX_LINES = 50_000

_KINDS = {
    "member": Membership.FULL_MEMBER,
    "正式党员": Membership.FULL_MEMBER,
    "probationary": Membership.PROBATIONARY_MEMBER,
    "预备党员": Membership.PROBATIONARY_MEMBER,
    "employee": Membership.NON_MEMBER,
    "群众": Membership.NON_MEMBER,
    "员工": Membership.NON_MEMBER,
}
_POSITIONS = {
    "secretary": CommitteePosition.SECRETARY,
    "书记": CommitteePosition.SECRETARY,
    "支部书记": CommitteePosition.SECRETARY,
    "deputy_secretary": CommitteePosition.DEPUTY_SECRETARY,
    "副书记": CommitteePosition.DEPUTY_SECRETARY,
    "支部副书记": CommitteePosition.DEPUTY_SECRETARY,
    "member": CommitteePosition.MEMBER,
    "委员": CommitteePosition.MEMBER,
    "支部委员": CommitteePosition.MEMBER,
}
_KIND_HINT = "人员类别须为 member（正式党员）、probationary（预备党员）或 employee（群众）"
_POSITION_HINT = "支委职务须为 secretary（书记）、deputy_secretary（副书记）或 member（委员）"
# Where a command's field comes from in the file.
_COLUMNS = {
    ("unit", "unit_id"): "unit_id",
    ("unit", "name"): "unit_name",
    ("branch", "branch_id"): "branch_id",
    ("branch", "unit_id"): "unit_id",
    ("branch", "name"): "branch_name",
    ("person", "person_id"): "person_id",
    ("person", "name"): "name",
    ("person", "branch_id"): "branch_id",
    ("person", "post"): "post",
}


class LineError(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int = Field(description="line number in the file; the header is line 1")
    field: str = Field(description="the column at fault")
    reason: str


class RosterRejected(InvalidInput):
    """The file has bad lines; nothing was applied."""

    code = "invalid_roster"

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"花名册有{len(errors)}处错误，未导入任何内容；请按逐行报告修改后重新导入")
        self.errors = errors


class ImportReport(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"lines": 120, "events": 3, "by_type": {"PersonRegistered": 3}}]
        },
    )

    lines: int = Field(description="data lines read")
    events: int = Field(description="events recorded; 0 when the file changed nothing")
    by_type: dict[str, int]


@dataclass(frozen=True)
class RosterLine:
    line: int
    unit: RegisterUnit
    branch: RegisterBranch
    person: RegisterPerson
    appointment: AppointCommitteeMember | None


def parse_roster(text: str) -> list[RosterLine]:
    """Check every line; raise ``RosterRejected`` listing each bad one."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise RosterRejected(
            [LineError(line=1, field=name, reason="表头缺少此列") for name in missing]
        )
    reader.fieldnames = header
    errors: list[LineError] = []
    lines: list[RosterLine] = []
    for row in reader:
        if reader.line_num > MAX_LINES:
            errors.append(LineError(line=reader.line_num, field="*", reason="文件过大，请分批导入"))
            break
        parsed = _parse_line(reader.line_num, row, errors)
        if parsed is not None:
            lines.append(parsed)
    _check_consistency(lines, errors)
    if errors:
        raise RosterRejected(sorted(errors, key=lambda e: (e.line, e.field)))
    return lines


def _parse_line(number: int, row: dict[str, Any], errors: list[LineError]) -> RosterLine | None:
    if None in row:
        errors.append(LineError(line=number, field="*", reason="列数多于表头"))
        return None
    value = {k: (v or "").strip() for k, v in row.items()}
    found_before = len(errors)
    membership = _KINDS.get(value["kind"])
    if membership is None:
        errors.append(
            LineError(
                line=number,
                field="kind",
                reason=_KIND_HINT,
            )
        )
    position = None
    if value.get("committee_position"):
        position = _POSITIONS.get(value["committee_position"])
        if position is None:
            errors.append(
                LineError(
                    line=number,
                    field="committee_position",
                    reason=_POSITION_HINT,
                )
            )
        elif membership is not None and membership is not Membership.FULL_MEMBER:
            errors.append(
                LineError(
                    line=number, field="committee_position", reason="只有正式党员才能担任支部委员"
                )
            )
    parts: dict[str, Any] = {}
    for part, model, data in (
        ("unit", RegisterUnit, {"unit_id": value["unit_id"], "name": value["unit_name"]}),
        (
            "branch",
            RegisterBranch,
            {
                "branch_id": value["branch_id"],
                "unit_id": value["unit_id"],
                "name": value["branch_name"],
            },
        ),
        (
            "person",
            RegisterPerson,
            {
                "person_id": value["person_id"],
                "name": value["name"],
                "branch_id": value["branch_id"],
                "membership": membership or Membership.NON_MEMBER,
                "post": value.get("post") or None,
            },
        ),
    ):
        try:
            parts[part] = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                field = _COLUMNS.get((part, str(err["loc"][0])), str(err["loc"][0]))
                if not any(e.line == number and e.field == field for e in errors):
                    errors.append(LineError(line=number, field=field, reason=err["msg"]))
    if len(errors) > found_before:
        return None
    appointment = (
        AppointCommitteeMember(person_id=value["person_id"], position=position)
        if position is not None
        else None
    )
    return RosterLine(
        line=number,
        unit=parts["unit"],
        branch=parts["branch"],
        person=parts["person"],
        appointment=appointment,
    )


def _check_consistency(lines: list[RosterLine], errors: list[LineError]) -> None:
    """One file, one truth: an id must mean the same thing on every line."""
    units: dict[str, RosterLine] = {}
    branches: dict[str, RosterLine] = {}
    people: dict[str, RosterLine] = {}
    for line in lines:
        first = units.setdefault(line.unit.unit_id, line)
        if first.unit.name != line.unit.name:
            errors.append(_differs(line, "unit_name", first, "二级党委名称"))
        first = branches.setdefault(line.branch.branch_id, line)
        if first.branch.name != line.branch.name:
            errors.append(_differs(line, "branch_name", first, "党支部名称"))
        if first.branch.unit_id != line.branch.unit_id:
            errors.append(_differs(line, "unit_id", first, "党支部所属二级党委"))
        first = people.setdefault(line.person.person_id, line)
        if first is not line:
            errors.append(
                LineError(
                    line=line.line, field="person_id", reason=f"人员编号与第{first.line}行重复"
                )
            )


def _differs(line: RosterLine, field: str, first: RosterLine, what: str) -> LineError:
    return LineError(line=line.line, field=field, reason=f"{what}与第{first.line}行不一致")


async def import_roster(text: str, **deps: Unpack[Dependencies]) -> ImportReport:
    """Apply a roster file in one transaction. Refusals by the domain (a branch moved to
    another unit, a departed person) are reported per line like format errors, and nothing
    of the file is kept."""
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="导入花名册")
        lines = parse_roster(text)
        errors = [e for line in lines if (e := await _apply_line(uow, line, role)) is not None]
        if errors:
            raise RosterRejected(errors)
        counts = Counter(item.event.type_name for item in uow.appended)
        return ImportReport(lines=len(lines), events=len(uow.appended), by_type=dict(counts))


async def _apply_line(uow: UnitOfWork, line: RosterLine, role: Role) -> LineError | None:
    field = "unit_id"
    try:
        await apply_register_unit(uow, line.unit, role)
        field = "branch_id"
        await apply_register_branch(uow, line.branch, role)
        field = "person_id"
        await apply_register_person(uow, line.person, role)
        if line.appointment is not None:
            field = "committee_position"
            await apply_appoint_committee_member(uow, line.appointment, role)
    except ConcurrencyError:
        raise
    except DomainError as exc:
        return LineError(line=line.line, field=field, reason=exc.message)
    return None
