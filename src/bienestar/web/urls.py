from django.urls import path

from bienestar.web import (
    audit_views,
    clinician_views,
    facility_views,
    people_views,
    pharmacy_views,
    prescribe_views,
    stock_views,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("entrar/", views.LoginView.as_view(), name="login"),
    path("salir/", views.LogoutView.as_view(), name="logout"),
    path("personas/", people_views.person_search, name="person_search"),
    path("personas/<uuid:public_id>/", people_views.person_detail, name="person_detail"),
    path("auditoria/", audit_views.audit_log, name="audit_log"),
    path("auditoria/exportar.csv", audit_views.audit_csv, name="audit_csv"),
]

# Pharmacy (issue 3): the queue, the dispense screen and receipt, stock pages, the facility page.
urlpatterns += [
    path("farmacia/", pharmacy_views.pharmacy_home, name="pharmacy_home"),
    path("farmacia/abrir/", pharmacy_views.prescription_open, name="prescription_open"),
    path("farmacia/recetas/<uuid:public_id>/", pharmacy_views.dispense, name="dispense"),
    path(
        "farmacia/surtimientos/<uuid:public_id>/",
        pharmacy_views.receipt,
        name="dispense_receipt",
    ),
    path("farmacia/existencias/", stock_views.stock_own, name="stock_own"),
    path("unidades/<str:key>/", facility_views.facility_detail, name="facility_detail"),
    path("unidades/<str:key>/existencias/", stock_views.stock_page, name="stock"),
    path("unidades/<str:key>/existencias/movimientos/", stock_views.ledger, name="stock_ledger"),
    path("unidades/<str:key>/existencias/entrada/", stock_views.receive, name="stock_receive"),
    path("unidades/<str:key>/existencias/conteo/", stock_views.count, name="stock_count"),
]

# Clinician (issue 3): the patient chart, the new-encounter form, prescribing and the printable receta.
urlpatterns += [
    path(
        "personas/<uuid:public_id>/expediente/",
        clinician_views.patient_chart_page,
        name="patient_chart",
    ),
    path(
        "personas/<uuid:public_id>/expediente/consultas/",
        clinician_views.patient_encounters,
        name="patient_encounters",
    ),
    path(
        "personas/<uuid:public_id>/consulta/nueva/",
        clinician_views.encounter_new,
        name="encounter_new",
    ),
    path("cie10/buscar/", clinician_views.diagnosis_search, name="diagnosis_search"),
    path("cie10/elegir/", clinician_views.diagnosis_pick, name="diagnosis_pick"),
    path("personas/<uuid:public_id>/receta/nueva/", prescribe_views.prescribe, name="prescribe"),
    path("medicamentos/buscar/", prescribe_views.medicine_search, name="medicine_search"),
    path("medicamentos/elegir/", prescribe_views.medicine_pick, name="medicine_pick"),
    path(
        "recetas/<uuid:public_id>/", prescribe_views.prescription_detail, name="prescription_detail"
    ),
    path(
        "recetas/<uuid:public_id>/imprimir/",
        prescribe_views.prescription_print,
        name="prescription_print",
    ),
]
