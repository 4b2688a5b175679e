"""Paging of the browser pages (the API pages with crm/common/pagination.py). Every paged page calls
`paginate` and includes templates/_pagination.html, whose links keep the rest of the query string
(the page's filters) and replace only `page`."""

from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


def paginate(queryset_or_list, request, *, per_page: int = PAGE_SIZE, count: int | None = None) -> Page:
    """The requested page of `queryset_or_list` (a bad page number gives the nearest page), with
    `links`: the page numbers to offer, elided around the current one. A caller that has counted the
    rows already passes `count`, which spares the paginator its COUNT query."""
    paginator = Paginator(queryset_or_list, per_page)
    if count is not None:
        paginator.count = count  # a cached_property: set, it is not computed
    page = paginator.get_page(request.GET.get("page"))
    page.links = list(paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))
    return page
