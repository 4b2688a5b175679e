"""Who reads an appraisal's result, as the appraisal page decides it: who runs the appraisal (the
manager's supervisor or an administrator: services.can_manage) reads the running score, grade,
reward and kind scores, and the appraised manager reads them once finalized. A panel member who is
neither reads only their own seat and scores: with one rater per kind, a kind's total is a
colleague's own total. One rule, for one appraisal (`results_shown`) and for a list
(`with_shown_results` with `ResultOrdering`: filtering or ordering by a hidden grade or score tells
nothing)."""

from django.db.models import Case, CharField, DecimalField, F, Q, QuerySet, Value, When

from appraisal import services
from appraisal.models import Appraisal, AppraisalStatus
from crm.common.filters import OrderingFilter
from crm.common.scopes import scope_for

RESULT_FIELDS = ("score", "grade", "reward", "kind_scores", "effective_weights", "missing_kinds")


def results_shown(user, appraisal: Appraisal) -> bool:
    own_final = appraisal.manager_id == user.pk and appraisal.status == AppraisalStatus.FINALIZED
    return own_final or services.can_manage(user, appraisal)


def results_shown_filter(user) -> Q:
    """`results_shown` as a filter (services.can_manage: the user's scope less themselves, with the
    permission to change appraisals)."""
    own_final = Q(manager_id=user.pk, status=AppraisalStatus.FINALIZED)
    if not getattr(user, "is_authenticated", False) or not user.has_perm("appraisal.change_appraisal"):
        return own_final
    scope = scope_for(user)
    runs = ~Q(manager_id=user.pk) if scope.sees_all else Q(manager_id__in=scope.user_ids - {user.pk})
    return runs | own_final


def with_shown_results(queryset: QuerySet[Appraisal], user) -> QuerySet[Appraisal]:
    """Annotates `shown_score` and `shown_grade`: the score and grade where `user` reads them, none
    (null, "") where not."""
    shown = results_shown_filter(user)
    return queryset.annotate(
        shown_score=Case(
            When(shown, then=F("score")),
            default=None,
            output_field=DecimalField(max_digits=5, decimal_places=2),
        ),
        shown_grade=Case(When(shown, then=F("grade")), default=Value(""), output_field=CharField()),
    )


class ResultOrdering(OrderingFilter):
    """?ordering=score / grade by the score and grade the caller may read (`with_shown_results`)."""

    SHOWN = {"score": "shown_score", "grade": "shown_grade"}

    def get_ordering(self, request, queryset, view):
        return [self._shown(term) for term in super().get_ordering(request, queryset, view) or ()]

    def _shown(self, term: str) -> str:
        name = term.lstrip("-")
        return term.replace(name, self.SHOWN.get(name, name))
