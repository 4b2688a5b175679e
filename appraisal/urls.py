from django.urls import path

from appraisal import cycle_views, views

app_name = "appraisal"

urlpatterns = [
    path("", cycle_views.cycles, name="cycles"),
    path("me/", views.mine, name="mine"),
    path("cycles/<int:pk>/", cycle_views.cycle_page, name="cycle"),
    path("cycles/<int:pk>/open/", cycle_views.cycle_open, name="cycle-open"),
    path("<int:year>/review/", views.review, name="review"),
    path("<int:year>/finalize/", views.finalize_all, name="finalize-all"),
    path("<int:year>/export.xlsx", views.export, name="export"),
    path("a/<int:pk>/", views.appraisal_page, name="appraisal"),
    path("a/<int:pk>/scores/", views.scores, name="scores"),
    path("a/<int:pk>/panel/", views.panel_add, name="panel-add"),
    path("a/<int:pk>/panel/<int:rater>/remove/", views.panel_remove, name="panel-remove"),
    path("a/<int:pk>/panel/<int:rater>/new-link/", views.panel_new_link, name="panel-new-link"),
    path("a/<int:pk>/submit/", views.submit, name="submit"),
    path("a/<int:pk>/finalize/", views.finalize, name="finalize"),
    path("a/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("a/<int:pk>/print/", views.print_report, name="print"),
    # A customer representative's signed link: no account, no log-in.
    path("r/<str:token>/", views.representative, name="representative"),
]
