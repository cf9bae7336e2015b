from django.urls import path

from bienestar.jobs import views

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<str:public_id>/", views.job_detail, name="job_detail"),
    path("<str:public_id>/archivos/<str:name>", views.job_result, name="job_result"),
    path("<str:public_id>/cancelar/", views.job_cancel, name="job_cancel"),
]
