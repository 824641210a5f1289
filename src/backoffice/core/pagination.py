"""Paging for list pages."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet


def paginate(queryset: QuerySet, page_number: str | None, per_page: int = 50) -> Page:
    """Return the requested page; a bad or out-of-range number gives the nearest page."""
    paginator = Paginator(queryset, per_page)
    try:
        return paginator.page(page_number or 1)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)
