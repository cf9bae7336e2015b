from django.urls import path

from bienestar.people import views

urlpatterns = [
    path(
        "personas/<uuid:public_id>/afiliacion/",
        views.affiliation_page,
        name="person_affiliation",
    ),
    path(
        "personas/<uuid:public_id>/afiliacion/<uuid:affiliation_id>/terminar/",
        views.affiliation_end_page,
        name="person_affiliation_end",
    ),
]
