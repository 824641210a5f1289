"""Paging for list pages, and the page sizes a list may offer."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet

# The page sizes a list page offers (its "Per page" choice); DEFAULT_PAGE_SIZE
# is used when the URL names none, or one not in the list.
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50


def page_size_parse(value: str | None) -> int:
    """The page size in a query string: one of ``PAGE_SIZES``, else ``DEFAULT_PAGE_SIZE``."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 3 and int(text) in PAGE_SIZES:
        return int(text)
    return DEFAULT_PAGE_SIZE


def paginate(
    queryset: QuerySet, page_number: str | None, per_page: int = DEFAULT_PAGE_SIZE, *, count: int | None = None
) -> Page:
    """
    Return the requested page; a bad or out-of-range number gives the nearest
    page. ``count``, when the caller knows it, spares the COUNT query.
    """
    paginator = Paginator(queryset, per_page)
    if count is not None:
        paginator.count = count  # the cached property, known in advance
    try:
        return paginator.page(page_number or 1)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
