"""Paging of the browser pages (the API pages with crm/common/pagination.py). Every paged page calls
`paginate` and includes templates/_pagination.html, whose links keep the rest of the query string
(the page's filters) and replace only `page`.

Both count with `CountKeepingPaginator`: the count of a large list (LARGE_COUNT_ROWS rows or more)
is kept in the cache for LARGE_COUNT_CACHE_SECONDS, under the list's own SQL and database, so paging
through an administrator's list of millions of customers counts them once, not on every page (a
COUNT over 3,000,000 rows is the one part of a list that grows with the data: docs/scale.md). Such
a count may be that many seconds old, as a replica's list may be (a page still holds every row it
has: only the count and the last page's number may lag); a smaller list, the one a manager pages
through, is counted every time and shows their own writes at once. The key holds the SQL with
its parameters, which hold the user's scope: two users share a count only for the same rows."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property

PAGE_SIZE = 50


class CountKeepingPaginator(Paginator):
    kept = False  # whether `count` came from the cache

    def page(self, number):
        page = super().page(number)
        if not self.kept:
            return page
        # A kept count may be behind the rows: the page holds its own rows (sliced lazily, no query
        # more), not only those up to the count, so nothing listed is left out of it.
        bottom = (page.number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], page.number, self)

    @cached_property
    def count(self) -> int:
        seconds = settings.LARGE_COUNT_CACHE_SECONDS
        query = getattr(self.object_list, "query", None)
        if not seconds or query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:
            return 0
        key = "list-count:" + hashlib.sha256(repr((self.object_list.db, sql, params)).encode()).hexdigest()
        kept = cache.get(key)
        if kept is not None:
            self.kept = True
            return kept
        count = super().count
        if count >= settings.LARGE_COUNT_ROWS:
            cache.set(key, count, seconds)
        return count


def paginate(queryset_or_list, request, *, per_page: int = PAGE_SIZE, count: int | None = None) -> Page:
    """The requested page of `queryset_or_list` (a bad page number gives the nearest page), with
    `links`: the page numbers to offer, elided around the current one. A caller that has counted the
    rows already passes `count`, which spares the paginator its COUNT query."""
    paginator = CountKeepingPaginator(queryset_or_list, per_page)
    if count is not None:
        paginator.count = count  # a cached_property: set, it is not computed
    page = paginator.get_page(request.GET.get("page"))
    page.links = list(paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))
    return page
