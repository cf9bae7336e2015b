from django.urls import path

from bienestar.referrals import views

urlpatterns = [
    path("recibidas/", views.received, name="referrals_received"),
    path("nueva/<uuid:public_id>/", views.referral_new, name="referral_new"),
    path("persona/<uuid:public_id>/", views.chart_section, name="referrals_of_person"),
    path("<uuid:public_id>/", views.detail, name="referral_detail"),
    path("<uuid:public_id>/estado/", views.change, name="referral_change"),
    path("<uuid:public_id>/agendar/", views.book, name="referral_book"),
    path("<uuid:public_id>/contrarreferencia/", views.answer, name="referral_answer"),
]
