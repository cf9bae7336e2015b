from django.contrib import admin
from django.urls import include, path, re_path

from bienestar.config import health
from bienestar.config.api import api

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", health.api_not_found),
    # /fhir and /fhir/… alike: FHIR clients post Bundles to the base without a slash.
    re_path(r"^fhir(?:/|$)", include("bienestar.fhir.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("territorial/", include("bienestar.outreach.urls")),
    path("trabajos/", include("bienestar.jobs.urls")),
    path("agenda/", include("bienestar.scheduling.urls")),
    path("indicadores/", include("bienestar.indicators.urls")),
    path("referencias/", include("bienestar.referrals.urls")),
    path("", include("bienestar.people.urls")),
    path("", include("bienestar.inventory.urls")),
    path("", include("bienestar.web.urls")),
]
