from django.urls import path

from bienestar.scheduling import views

urlpatterns = [
    path("", views.day_page, name="agenda_day"),
    path("citas/<uuid:public_id>/estado/", views.status_change, name="agenda_status"),
    path("sin-cita/", views.walk_in, name="agenda_walk_in"),
    path("agendar/<uuid:public_id>/", views.book_page, name="agenda_book"),
]
