"""Statistical baselines of every customer's next 12 months and the runs that compute them
(spec/forecasting.md). The managers' own forecasts stay on their visit reports (visits); the scores
that set one against the other are read, not stored (forecasts.scoring)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.common.models import RunRecord, TimeStampedModel
from crm.common.scopes import ScopedQuerySet
from customers.models import Customer

HORIZON = 12  # months a baseline forecasts, month by month
MONTH_FIELDS = tuple(f"m{n:02d}" for n in range(1, HORIZON + 1))


class Method(models.TextChoices):
    SEASONAL_NAIVE = "seasonal_naive", _("Seasonal naive")
    THETA = "theta", _("Dynamic optimized theta")


class BaselineQuerySet(ScopedQuerySet):
    scope_field = "customer__manager_id"

    def best_first(self):
        """For each customer and month made, the model before the seasonal naive: the one that
        stands as "the baseline" where both were made."""
        return self.order_by(
            "customer_id",
            "-made_for",
            models.Case(models.When(method=Method.THETA, then=0), default=1),
        )


class Baseline(TimeStampedModel):
    """A statistical forecast of one customer's 12 months from `made_for` (the first forecast
    month), made when the month before it had landed. One per customer, month and method: a run
    done again replaces its figures (an upsert), so resuming or repeating a run changes nothing.
    The months are columns, not a list, so a station's or an industry's months are one SUM each."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="baselines"
    )
    made_for = models.DateField(_("first forecast month"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    # how many metered months it was made from (fewer than 12: each month is their mean)
    months_used = models.PositiveSmallIntegerField(_("months of history used"), default=0)
    total_kwh_12m = models.DecimalField(_("12-month total (kWh)"), max_digits=16, decimal_places=2)
    run = models.ForeignKey(
        "BaselineRun",
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # the 12 months from made_for, in order (MONTH_FIELDS)
    m01 = models.DecimalField(_("month 1"), max_digits=14, decimal_places=2)
    m02 = models.DecimalField(_("month 2"), max_digits=14, decimal_places=2)
    m03 = models.DecimalField(_("month 3"), max_digits=14, decimal_places=2)
    m04 = models.DecimalField(_("month 4"), max_digits=14, decimal_places=2)
    m05 = models.DecimalField(_("month 5"), max_digits=14, decimal_places=2)
    m06 = models.DecimalField(_("month 6"), max_digits=14, decimal_places=2)
    m07 = models.DecimalField(_("month 7"), max_digits=14, decimal_places=2)
    m08 = models.DecimalField(_("month 8"), max_digits=14, decimal_places=2)
    m09 = models.DecimalField(_("month 9"), max_digits=14, decimal_places=2)
    m10 = models.DecimalField(_("month 10"), max_digits=14, decimal_places=2)
    m11 = models.DecimalField(_("month 11"), max_digits=14, decimal_places=2)
    m12 = models.DecimalField(_("month 12"), max_digits=14, decimal_places=2)

    objects = BaselineQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "-made_for", "method"]
        verbose_name = _("baseline")
        verbose_name_plural = _("baselines")
        constraints = [
            models.UniqueConstraint(fields=["customer", "made_for", "method"], name="baseline_one_per_month"),
            models.CheckConstraint(
                condition=models.Q(method__in=Method.values), name="baseline_method_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(total_kwh_12m__gte=0), name="baseline_total_not_negative"
            ),
        ]
        # the industry and station sums read one month's baselines of all customers
        indexes = [models.Index(fields=["made_for", "method"], name="baseline_month_method")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.made_for:%Y-%m} {self.method}"

    @property
    def monthly(self) -> list:
        return [getattr(self, name) for name in MONTH_FIELDS]


class BaselineRun(RunRecord):
    """One computation of every active customer's baselines for `made_for`: the seasonal naive in
    SQL, the model for the VIP and key accounts with two years of history, chunk by chunk over
    customer ids (`last_pk`: customers up to this id are done)."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("On demand")
        SCHEDULE = "schedule", _("Monthly schedule")
        CONSUMPTION = "consumption", _("Consumption landed")
        SEED = "seed", _("Demo data")

    made_for = models.DateField(_("first forecast month"))
    trigger = models.CharField(_("started by"), max_length=20, choices=Trigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    max_pk = models.BigIntegerField(_("last customer id to examine"), null=True, blank=True)
    last_pk = models.BigIntegerField(_("customers done up to id"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    seasonal_naive = models.PositiveIntegerField(_("seasonal naive baselines"), default=0)
    theta = models.PositiveIntegerField(_("model baselines"), default=0)
    # active customers of the done chunks with no metered month in the last year: no baseline
    no_history = models.PositiveIntegerField(_("customers without history"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("baseline run")
        verbose_name_plural = _("baseline runs")
        constraints = [
            # one run of a month waiting or running at a time: a second request joins it
            models.UniqueConstraint(
                fields=["made_for"],
                condition=models.Q(status__in=["queued", "running"]),
                name="baselinerun_one_unfinished_per_month",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="baselinerun_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return _("Baseline run %(id)s") % {"id": self.pk}
