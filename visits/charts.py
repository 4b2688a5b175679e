"""The team's visit completion by month as an inline SVG bar chart (crm.common.charts draws it), shown on
the supervisor's home and the team visits page."""

from collections.abc import Sequence

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.common import months
from crm.common.charts import Bar, bar_chart
from visits.selectors import MonthCompletion


def completion_chart(rows: Sequence[MonthCompletion]) -> SafeString:
    """One bar per month, oldest first, of the share of the tasks due in it that are done (0-100 %);
    a month with nothing due has no bar, and the current month, still running, is highlighted."""
    bars = [
        Bar(
            label=months.label(row.month),
            value=row.rate,
            title=_("%(month)s: %(rate)s%% (%(done)s of %(due)s done)")
            % {"month": months.label(row.month), "rate": row.rate, "done": row.done, "due": row.due}
            if row.due
            else "",  # no bar is drawn: nothing to hover
        )
        for row in rows
    ]
    if not bars:
        return bar_chart(bars, title="", unit="%")
    title = _("Visit completion by month (%%), %(first)s to %(last)s") % {
        "first": bars[0].label,
        "last": bars[-1].label,
    }
    return bar_chart(bars, title=title, unit="%", top=100, highlight_last=True)
