from django.urls import path

from bienestar.web import views

urlpatterns = [path("", views.home, name="home")]
