"""Template helpers of the Pending Registrations section and the code sheet."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from backoffice.devices.qr import qr_svg_inline

register = template.Library()


@register.filter
def qr_svg(code: str | None) -> SafeString:
    """
    The code as an inline SVG QR code (the printed code sheet). The Pending
    Registrations section loads its QR images on demand instead, from
    ``devices:qr``.
    """
    if not code:
        return SafeString("")
    return mark_safe(qr_svg_inline(code))  # noqa: S308
