"""Outreach pages (issue 12), mounted at /territorial/."""

from django.urls import path

from bienestar.outreach import plan_views, views

app_name = "outreach"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("hogares/<uuid:public_id>/", views.household, name="household"),
    path("hogares/<uuid:public_id>/visita/", views.visit_new, name="visit_new"),
    path("hogares/<uuid:public_id>/caracterizacion/", views.characterise, name="characterise"),
    path(
        "hogares/<uuid:public_id>/tamizaje/<str:kind>/", views.screening_new, name="screening_new"
    ),
    path("planeacion/", plan_views.planner, name="planner"),
    path("planeacion/<uuid:public_id>/", plan_views.plan_detail, name="plan_detail"),
    path("sectores/mapa/", plan_views.sector_map, name="sector_map"),
    path("sectores/<uuid:public_id>/", plan_views.sector_detail, name="sector_detail"),
]
