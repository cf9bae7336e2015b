from django.urls import path

from bienestar.indicators import views

urlpatterns = [
    path("", views.indicator_list, name="indicator_list"),
    path("<slug:code>/", views.indicator_detail, name="indicator_detail"),
    path("<slug:code>/exportar.csv", views.indicator_csv, name="indicator_csv"),
    path("<slug:code>/exportar.xlsx", views.indicator_xlsx, name="indicator_xlsx"),
]
