from django.utils.translation import gettext_lazy as _

from bienestar.core.errors import DomainError


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401

    def __init__(self) -> None:
        super().__init__(_("Inicie sesión o envíe un token válido."))


class Forbidden(DomainError):
    code = "forbidden"
    status = 403

    def __init__(self, message: object = None) -> None:
        super().__init__(message or _("Su función no permite esta acción."))


class OutOfScope(DomainError):
    """Raised when the resource exists but lies outside the caller's territory. Rendered as 404 so
    that callers cannot learn which records exist elsewhere."""

    code = "not_found"
    status = 404

    def __init__(self) -> None:
        super().__init__(_("No encontrado."))
