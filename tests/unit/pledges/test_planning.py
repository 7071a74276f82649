"""Step 1: the annual plan and the employees' needs, and how a need learns it is solved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.pledges.commands import AdoptPlan, ClassifyNeed, SubmitNeed
from services.pledges.domain import (
    BranchState,
    NeedState,
    PlanState,
    decide_adopt_plan,
    decide_classify_need,
    decide_link_pledge,
    decide_mark_solved,
    decide_submit_need,
    decide_unlink_pledge,
    evolve_need,
    evolve_plan,
    fold,
)
from shared.contracts.pledges import (
    NeedClassified,
    NeedPledgeLinked,
    NeedPledgeUnlinked,
    NeedSolved,
    NeedSubmitted,
    PlanAdopted,
    PlanAmended,
    PledgeAccepted,
    ResponsibilityArea,
)
from shared.errors import Conflict, InvalidInput, NotFound
from tests.unit.pledges.examples import BRANCH, EMPLOYEE, NEED, STRANGER, YEAR

pytestmark = pytest.mark.unit

BRANCH_STATE = BranchState(branch_id=BRANCH, unit_id="U-GY", name="江北排水站党支部")
ADOPT = AdoptPlan(
    branch_id=BRANCH,
    year=YEAR,
    title="2024年党员塑形工程活动方案",
    summary="围绕七帮七带七做建设党员责任区，推行党员承诺制",
    meeting_date=date(2024, 1, 12),
)
PLAN = PlanState(
    branch_id=BRANCH,
    year=YEAR,
    title=ADOPT.title,
    summary=ADOPT.summary,
    meeting_date=ADOPT.meeting_date,
)
SUBMIT = SubmitNeed(
    need_id="N-1",
    branch_id=BRANCH,
    year=YEAR,
    employee_id=EMPLOYEE.person_id,
    problem="家中老人长期卧床，下班后无人照料",
    suggested_area=ResponsibilityArea.HARDSHIP,
)
SUBMITTED = NeedState(
    need_id="N-1",
    branch_id=BRANCH,
    year=YEAR,
    employee_id=EMPLOYEE.person_id,
    problem=SUBMIT.problem,
    suggested_area=ResponsibilityArea.HARDSHIP,
)


def accepted(pledge_id: str = "PL-1") -> PledgeAccepted:
    return PledgeAccepted(
        pledge_id=pledge_id, need_ids=("N-1",), accepted_on=date(2024, 11, 30), comment=None
    )


# Plan


def test_a_branch_adopts_its_plan_for_the_year() -> None:
    events = decide_adopt_plan(None, ADOPT, branch=BRANCH_STATE)
    assert events == [
        PlanAdopted(
            branch_id=BRANCH,
            year=YEAR,
            title=ADOPT.title,
            summary=ADOPT.summary,
            meeting_date=date(2024, 1, 12),
        )
    ]
    assert fold(evolve_plan, events) == PLAN


def test_adopting_the_same_plan_again_changes_nothing() -> None:
    assert decide_adopt_plan(PLAN, ADOPT, branch=BRANCH_STATE) == []


def test_adopting_a_different_plan_for_the_same_year_amends_it() -> None:
    changed = ADOPT.model_copy(update={"meeting_date": date(2024, 1, 19)})
    events = decide_adopt_plan(PLAN, changed, branch=BRANCH_STATE)
    assert [type(event) for event in events] == [PlanAmended]
    assert evolve_plan(PLAN, events[0]).meeting_date == date(2024, 1, 19)


def test_an_unknown_branch_cannot_adopt_a_plan() -> None:
    with pytest.raises(NotFound) as refused:
        decide_adopt_plan(None, ADOPT, branch=None)
    assert refused.value.message == "党支部“B-JB-01”不存在"


# Needs


def test_an_employee_submits_a_need_under_the_branch_plan() -> None:
    events = decide_submit_need(None, SUBMIT, employee=EMPLOYEE, plan=PLAN)
    assert events == [
        NeedSubmitted(
            need_id="N-1",
            branch_id=BRANCH,
            year=YEAR,
            employee_id=EMPLOYEE.person_id,
            problem=SUBMIT.problem,
            suggested_area=ResponsibilityArea.HARDSHIP,
        )
    ]
    assert fold(evolve_need, events) == SUBMITTED


def test_needs_are_gathered_only_once_the_plan_is_adopted() -> None:
    with pytest.raises(Conflict) as refused:
        decide_submit_need(None, SUBMIT, employee=EMPLOYEE, plan=None)
    assert refused.value.message == "本支部2024年度活动方案尚未通过，暂不能提交需求"


def test_a_need_is_submitted_for_an_employee_of_the_branch_only() -> None:
    command = SUBMIT.model_copy(update={"employee_id": STRANGER.person_id})
    with pytest.raises(InvalidInput) as refused:
        decide_submit_need(None, command, employee=STRANGER, plan=PLAN)
    assert refused.value.message == "赵强不属于本党支部，只能提交本支部员工的需求"


def test_an_unknown_employee_cannot_submit_a_need() -> None:
    with pytest.raises(NotFound) as refused:
        decide_submit_need(None, SUBMIT, employee=None, plan=PLAN)
    assert refused.value.message == "员工“P-2001”不存在"


def test_a_departed_employee_cannot_submit_a_need() -> None:
    gone = replace(EMPLOYEE, departed_on=date(2024, 1, 31))
    with pytest.raises(Conflict) as refused:
        decide_submit_need(None, SUBMIT, employee=gone, plan=PLAN)
    assert refused.value.message == "李娟已离开，不能再提交需求"


def test_a_need_id_cannot_be_submitted_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_submit_need(SUBMITTED, SUBMIT, employee=EMPLOYEE, plan=PLAN)
    assert refused.value.message == "需求编号“N-1”已存在"


def test_the_branch_classifies_a_need_into_an_area() -> None:
    command = ClassifyNeed(need_id="N-1", area=ResponsibilityArea.SERVICE)
    events = decide_classify_need(SUBMITTED, command)
    assert events == [NeedClassified(need_id="N-1", area=ResponsibilityArea.SERVICE)]
    assert evolve_need(SUBMITTED, events[0]).area is ResponsibilityArea.SERVICE


def test_classifying_a_need_into_its_area_again_changes_nothing() -> None:
    command = ClassifyNeed(need_id="N-1", area=ResponsibilityArea.HARDSHIP)
    assert decide_classify_need(NEED, command) == []


def test_a_solved_need_cannot_be_reclassified() -> None:
    solved = replace(NEED, solved_by="PL-1", solved_on=date(2024, 11, 30))
    with pytest.raises(Conflict) as refused:
        decide_classify_need(solved, ClassifyNeed(need_id="N-1", area=ResponsibilityArea.SERVICE))
    assert refused.value.message == "需求已解决，不能重新分类"


def test_an_unknown_need_cannot_be_classified() -> None:
    with pytest.raises(NotFound) as refused:
        decide_classify_need(None, ClassifyNeed(need_id="N-9", area=ResponsibilityArea.SERVICE))
    assert refused.value.message == "需求“N-9”不存在"


# Which pledges answer a need, and when it is solved


def test_a_need_records_the_pledges_that_answer_it() -> None:
    events = decide_link_pledge(NEED, "PL-1")
    assert events == [NeedPledgeLinked(need_id="N-1", pledge_id="PL-1")]
    linked = evolve_need(NEED, events[0])
    assert linked.pledge_ids == ("PL-1",)
    assert decide_link_pledge(linked, "PL-1") == []


def test_a_withdrawn_or_revised_pledge_is_unlinked_from_the_need() -> None:
    linked = replace(NEED, pledge_ids=("PL-1", "PL-2"))
    events = decide_unlink_pledge(linked, "PL-1")
    assert events == [NeedPledgeUnlinked(need_id="N-1", pledge_id="PL-1")]
    assert evolve_need(linked, events[0]).pledge_ids == ("PL-2",)
    assert decide_unlink_pledge(NEED, "PL-1") == []


def test_a_solved_need_takes_no_new_pledge() -> None:
    solved = replace(NEED, pledge_ids=("PL-1",), solved_by="PL-1", solved_on=date(2024, 11, 30))
    with pytest.raises(Conflict) as refused:
        decide_link_pledge(solved, "PL-2")
    assert refused.value.message == "该需求已解决，不能再对应新的承诺"


def test_a_need_is_solved_when_an_answering_pledge_is_accepted() -> None:
    linked = replace(NEED, pledge_ids=("PL-1",))
    events = decide_mark_solved(linked, accepted())
    assert events == [NeedSolved(need_id="N-1", pledge_id="PL-1", solved_on=date(2024, 11, 30))]
    solved = evolve_need(linked, events[0])
    assert solved.is_solved
    assert solved.solved_by == "PL-1"


def test_a_second_accepted_pledge_leaves_a_solved_need_as_it_is() -> None:
    solved = replace(
        NEED, pledge_ids=("PL-1", "PL-2"), solved_by="PL-1", solved_on=date(2024, 11, 30)
    )
    assert decide_mark_solved(solved, accepted("PL-2")) == []


def test_a_pledge_that_does_not_answer_the_need_cannot_solve_it() -> None:
    with pytest.raises(Conflict) as refused:
        decide_mark_solved(NEED, accepted("PL-7"))
    assert refused.value.message == "承诺“PL-7”未对应该需求，不能据此认定需求已解决"


def test_an_unknown_need_cannot_be_solved() -> None:
    with pytest.raises(NotFound):
        decide_mark_solved(None, accepted())
