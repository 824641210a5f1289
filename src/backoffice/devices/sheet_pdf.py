"""
The code sheet as a PDF (fpdf2; no database): one page per device, or a grid
of cards, each with the nickname, the team, the code in large type, its QR
code (drawn from segno's matrix, no image), the expiry in the company's time
zone and the three steps on the device. Codes that can no longer be used are
not printed: they are listed on a last page with the reason.

Text is set in DejaVu (Debian's fonts-dejavu-core) when it is installed, so
that any nickname prints; otherwise in the PDF's built-in Helvetica, where a
character outside Latin-1 prints as "?".
"""

import datetime
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

FONT_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    ("sans", ""): "DejaVuSans.ttf",
    ("sans", "B"): "DejaVuSans-Bold.ttf",
    ("mono", "B"): "DejaVuSansMono-Bold.ttf",
}
PAPERS = {"a4": "A4", "letter": "Letter"}
STEPS = (
    "Open ReconPro on the device.",
    "Tap Verification and type the code (the dash is optional).",
    "Tap Verify.",
)
INK = (23, 32, 51)
MUTED = (95, 107, 125)


@dataclass(frozen=True)
class SheetCard:
    """What one device's card shows; ``code`` is None when it is not printed, ``status`` says why."""

    nickname: str
    team: str
    code: str | None
    status: str
    expires_at: datetime.datetime | None


class _Sheet(FPDF):
    def __init__(self, *, paper: str, company: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format=PAPERS.get(paper, "A4"))
        self.company = company
        self.set_auto_page_break(auto=False)
        self.set_margins(15, 15, 15)
        self.set_title("ReconPro registration codes")
        self.set_creator("ReconPro Back Office")
        self.unicode = all((FONT_DIRECTORY / name).is_file() for name in FONTS.values())
        if self.unicode:
            for (family, style), name in FONTS.items():
                self.add_font(family, style, str(FONT_DIRECTORY / name))

    def font(self, family: str, style: str, size: float) -> None:
        if self.unicode:
            self.set_font(family, "B" if family == "mono" else style, size)
        else:
            self.set_font("Courier" if family == "mono" else "Helvetica", style, size)

    def text_safe(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def line_of(self, text: str, *, width: float, height: float, align: str = "L") -> None:
        """One line of text, shortened with "…" to ``width``."""
        text = self.text_safe(text)
        ellipsis = "…" if self.unicode else "..."
        if self.get_string_width(text) > width:
            while text and self.get_string_width(text + ellipsis) > width:
                text = text[:-1]
            text += ellipsis
        self.cell(width, height, text, align=align, new_x="LEFT", new_y="NEXT")

    def qr(self, code: str, *, x: float, y: float, size: float) -> None:
        """The code as a QR code of ``size`` mm, drawn as filled squares."""
        rows = [list(row) for row in segno.make_qr(code, error="m").matrix_iter(border=4)]
        module = size / len(rows)
        self.set_fill_color(*INK)
        for r, row in enumerate(rows):
            start = None
            for c, dark in enumerate([*row, 0]):
                if dark and start is None:
                    start = c
                elif not dark and start is not None:
                    self.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
                    start = None

    def footer(self) -> None:
        self.set_y(-12)
        self.font("sans", "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.text_safe(f"{self.company} · page {self.page_no()}"), align="C")


def _expiry(expires_at: datetime.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if expires_at is None:
        return ""
    local = expires_at.astimezone(zone)
    return f"Expires {local:%Y-%m-%d %H:%M} ({zone.key})"


def _page(pdf: _Sheet, card: SheetCard, zone: zoneinfo.ZoneInfo) -> None:
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_text_color(*MUTED)
    pdf.font("sans", "", 10)
    pdf.line_of(f"{pdf.company} · ReconPro registration code", width=width, height=6)
    pdf.ln(6)
    pdf.set_text_color(*INK)
    pdf.font("sans", "B", 26)
    pdf.line_of(card.nickname, width=width, height=12)
    pdf.font("sans", "", 14)
    pdf.set_text_color(*MUTED)
    pdf.line_of(f"Team: {card.team}", width=width, height=8)
    pdf.ln(10)
    pdf.set_text_color(*INK)
    pdf.font("mono", "B", 52)
    pdf.line_of(card.code or "", width=width, height=24, align="C")
    pdf.ln(4)
    size = 70
    pdf.qr(card.code or "", x=(pdf.w - size) / 2, y=pdf.get_y(), size=size)
    pdf.set_y(pdf.get_y() + size + 6)
    pdf.font("sans", "B", 13)
    pdf.line_of(_expiry(card.expires_at, zone), width=width, height=8, align="C")
    pdf.ln(8)
    pdf.font("sans", "B", 14)
    pdf.line_of("To register this device", width=width, height=9)
    pdf.font("sans", "", 13)
    for number, step in enumerate(STEPS, start=1):
        pdf.line_of(f"{number}.  {step}", width=width, height=8)
    pdf.ln(4)
    pdf.set_text_color(*MUTED)
    pdf.font("sans", "", 10)
    pdf.line_of("The code works once, on one device.", width=width, height=6)


# The three steps, shorter, on two columns of text beside a card's QR code.
GRID_STEPS = (("1.", "Open ReconPro."), ("2.", "Tap Verification,"), ("", "type the code."), ("3.", "Tap Verify."))
GRID_COLUMNS = 2
GRID_ROWS = 4


def _card(pdf: _Sheet, card: SheetCard, zone: zoneinfo.ZoneInfo, *, x: float, y: float, w: float, h: float) -> None:
    """One card of the grid: name and team, the code across the card, then the steps beside the QR code."""
    pad = 4
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.rect(x, y, w, h)
    pdf.set_dash_pattern()
    inner = w - 2 * pad
    pdf.set_xy(x + pad, y + pad)
    pdf.set_text_color(*INK)
    pdf.font("sans", "B", 12)
    pdf.line_of(card.nickname, width=inner, height=6)
    pdf.set_x(x + pad)
    pdf.set_text_color(*MUTED)
    pdf.font("sans", "", 9)
    pdf.line_of(f"Team: {card.team}", width=inner, height=5)
    pdf.set_x(x + pad)
    pdf.set_text_color(*INK)
    pdf.font("mono", "B", 20)
    pdf.line_of(card.code or "", width=inner, height=11)
    top = pdf.get_y() + 1
    qr_size = min(y + h - pad - top, 34)
    pdf.qr(card.code or "", x=x + w - pad - qr_size, y=top, size=qr_size)
    text_width = inner - qr_size - 3
    pdf.set_xy(x + pad, top)
    pdf.font("sans", "B", 8)
    local = card.expires_at.astimezone(zone) if card.expires_at else None
    pdf.line_of(f"Expires {local:%Y-%m-%d %H:%M}" if local else "", width=text_width, height=4.5)
    pdf.set_x(x + pad)
    pdf.font("sans", "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.line_of(f"({zone.key})", width=text_width, height=4.5)
    pdf.ln(1.5)
    pdf.set_text_color(*INK)
    pdf.font("sans", "", 8.5)
    for number, step in GRID_STEPS:
        pdf.set_x(x + pad)
        pdf.cell(4, 4.8, number)
        pdf.line_of(step, width=text_width - 4, height=4.8)


def _not_printed(pdf: _Sheet, cards: Sequence[SheetCard]) -> None:
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_text_color(*INK)
    pdf.font("sans", "B", 16)
    pdf.line_of("Not printed: these codes can no longer be used", width=width, height=10)
    pdf.font("sans", "", 11)
    for card in cards:
        if pdf.get_y() > pdf.h - 25:
            pdf.add_page()
        pdf.line_of(f"{card.nickname} ({card.team}): {card.status}", width=width, height=7)


def code_sheet_pdf(
    cards: Sequence[SheetCard], *, layout: str, paper: str, company: str, zone: zoneinfo.ZoneInfo
) -> bytes:
    """The sheet as PDF bytes: ``layout`` "pages" (one page per usable code) or "grid" (eight cards a page)."""
    pdf = _Sheet(paper=paper, company=company)
    usable = [card for card in cards if card.code]
    unusable = [card for card in cards if not card.code]
    if layout == "grid":
        width = pdf.w - pdf.l_margin - pdf.r_margin
        height = pdf.h - pdf.t_margin - 20
        w, h = width / GRID_COLUMNS, height / GRID_ROWS
        for index, card in enumerate(usable):
            slot = index % (GRID_COLUMNS * GRID_ROWS)
            if slot == 0:
                pdf.add_page()
            column, row = slot % GRID_COLUMNS, slot // GRID_COLUMNS
            _card(pdf, card, zone, x=pdf.l_margin + column * w, y=pdf.t_margin + row * h, w=w - 3, h=h - 3)
    else:
        for card in usable:
            _page(pdf, card, zone)
    if unusable or not usable:
        _not_printed(pdf, unusable)
    return bytes(pdf.output())
