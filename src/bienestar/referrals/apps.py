from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "bienestar.referrals"
    label = "referrals"
