from django.urls import path

from bienestar.web import audit_views, people_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("entrar/", views.LoginView.as_view(), name="login"),
    path("salir/", views.LogoutView.as_view(), name="logout"),
    path("personas/", people_views.person_search, name="person_search"),
    path("personas/<uuid:public_id>/", people_views.person_detail, name="person_detail"),
    path("auditoria/", audit_views.audit_log, name="audit_log"),
    path("auditoria/exportar.csv", audit_views.audit_csv, name="audit_csv"),
]
