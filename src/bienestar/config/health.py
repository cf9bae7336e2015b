from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /api/ answer JSON, like every other API error."""
    from django.utils.translation import gettext as _

    return JsonResponse(
        {"error": "not_found", "detail": _("No existe esa ruta de la API.")}, status=404
    )
