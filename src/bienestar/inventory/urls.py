from django.urls import path

from bienestar.inventory import views

urlpatterns = [
    path("abasto/", views.supply_own, name="supply_own"),
    path("abasto/unidades/<str:key>/", views.dashboard, name="supply_dashboard"),
    path("abasto/unidades/<str:key>/pedir/", views.request_new, name="supply_request"),
    path("abasto/requisiciones/<uuid:public_id>/", views.requisition, name="supply_requisition"),
    path("abasto/envios/<uuid:public_id>/", views.shipment, name="supply_shipment"),
]
