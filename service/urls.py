from django.urls import path

from service import board_views, calendar_views, views

app_name = "service"

urlpatterns = [
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:pk>/", views.RequestDetail.as_view(), name="request"),
    path("queue/", views.queue, name="queue"),
    path("board/", board_views.board, name="board"),
    path("calendar/", calendar_views.calendar_page, name="calendar"),
]
