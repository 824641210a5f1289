"""
QR codes of registration codes, drawn on the server so that no script or
external service sees the code. The SVG comes from segno, not from input.
"""

import io

import segno

# A full QR code (never a Micro QR, which phone cameras often do not read), with its quiet zone.
_ERROR_LEVEL = "m"
_SCALE = 4
_BORDER = 4
_DARK = "#172033"


def qr_svg_inline(code: str) -> str:
    """``code`` as an ``<svg>`` element to place inside an HTML page."""
    return segno.make_qr(code, error=_ERROR_LEVEL).svg_inline(scale=_SCALE, border=_BORDER, dark=_DARK)


def qr_svg_document(code: str) -> bytes:
    """``code`` as a standalone SVG document (``image/svg+xml``), for an ``<img>``."""
    buffer = io.BytesIO()
    segno.make_qr(code, error=_ERROR_LEVEL).save(buffer, kind="svg", scale=_SCALE, border=_BORDER, dark=_DARK)
    return buffer.getvalue()
