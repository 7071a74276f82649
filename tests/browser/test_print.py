"""Printing (A4): the points card and the board's 公示表 rendered to PDF by Chromium's own
print (the print stylesheet), and the text of the PDF checked: the document is there, the
menu, buttons and forms are not."""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.conftest import settled

pytestmark = pytest.mark.browser


def pdf_text(page: Page) -> tuple[int, str]:
    """(pages, text) of the page printed on A4, as Chromium prints it. The text is NFKC
    normalized: the PDF's fonts map some characters to their compatibility forms (a Kangxi
    radical ⽀ for 支), which read the same."""
    reader = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    return len(reader.pages), unicodedata.normalize("NFKC", text)


def test_the_points_card_prints_as_an_a4_document(as_person: Any) -> None:
    member = as_person("d-0002")  # 李秀英
    member.goto("/me/card")
    expect(member.locator("h2").first).to_contain_text("党员塑形积分卡")
    expect(member.locator("[data-print]").first).to_be_visible()
    pages, text = pdf_text(member)
    assert pages >= 1
    for shown in ("党员塑形积分卡", "李秀英", "采油一队党支部", "四评结果"):
        assert shown in text, (shown, text[:500])
    for hidden in ("退出登录", "打印", "提交异议", "切换"):
        assert hidden not in text, (hidden, text[:500])


def test_the_board_prints_the_results_notice_alone(as_person: Any) -> None:
    public = as_person(None)
    public.goto("/board/b-demo-1")
    settled(public, "#pledges", "公开承诺")
    public.evaluate("document.body.setAttribute('data-printing', 'results')")
    _, text = pdf_text(public)
    assert "综合评议结果公示" in text
    assert "公开承诺" not in text and "承诺台账" not in text
