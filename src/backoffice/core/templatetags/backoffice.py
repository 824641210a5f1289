"""Template helpers shared by every page: sortable column headers."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str) -> SafeString:
    """A column header link that sorts by ``key`` and shows the current order."""
    request = context["request"]
    current = context.get("sort", "")
    descending = context.get("descending", False)
    query = request.GET.copy()
    query.pop("page", None)
    next_desc = key == current and not descending
    query["sort"] = key
    if next_desc:
        query["dir"] = "desc"
    else:
        query.pop("dir", None)
    arrow = ""
    if key == current:
        arrow = " ▼" if descending else " ▲"
    return format_html('<a href="?{}">{}<span aria-hidden="true">{}</span></a>', query.urlencode(), label, arrow)


@register.simple_tag(takes_context=True)
def aria_sort(context: template.Context, key: str) -> SafeString:
    if context.get("sort") != key:
        return SafeString("")
    return SafeString('aria-sort="descending"' if context.get("descending") else 'aria-sort="ascending"')
