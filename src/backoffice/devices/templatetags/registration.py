"""Template helpers of the Pending Registrations section."""

import segno
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def qr_svg(code: str | None) -> SafeString:
    """
    The code as an inline SVG QR code, drawn on the server so that no script
    or external service sees it. The SVG comes from segno, not from input.
    """
    if not code:
        return SafeString("")
    # A full QR code (never a Micro QR, which phone cameras often do not read), with its quiet zone.
    svg = segno.make_qr(code, error="m").svg_inline(scale=4, border=4, dark="#172033")
    return mark_safe(svg)  # noqa: S308
