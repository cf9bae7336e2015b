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

from bienestar.people import registration_views  # noqa: E402

urlpatterns += [
    path("personas/registrar/", registration_views.register_page, name="person_register"),
    path(
        "personas/registrar/candidatos/",
        registration_views.register_candidates,
        name="person_register_candidates",
    ),
    path("personas/registrar/curp/", registration_views.register_curp, name="person_register_curp"),
]
