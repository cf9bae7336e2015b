"""Outreach pages (issue 12), mounted at /territorial/."""

from django.urls import path

from bienestar.outreach import plan_views

app_name = "outreach"

urlpatterns = [
    path("planeacion/", plan_views.planner, name="planner"),
    path("planeacion/<uuid:public_id>/", plan_views.plan_detail, name="plan_detail"),
    path("sectores/mapa/", plan_views.sector_map, name="sector_map"),
    path("sectores/<uuid:public_id>/", plan_views.sector_detail, name="sector_detail"),
]
