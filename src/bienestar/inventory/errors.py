"""Domain errors of the stock ledger."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bienestar.core.errors import Conflict


class InsufficientStock(Conflict):
    """More units were asked for than the facility holds (in usable, non-expired lots).

    Raised before anything is written, so the caller's transaction can roll back cleanly; the API
    answers 409 with `error: insufficient_stock`.
    """

    code = "insufficient_stock"

    def __init__(self, *, medicine_key: str, requested: int, available: int) -> None:
        self.medicine_key = medicine_key
        self.requested = requested
        self.available = available
        super().__init__(
            _(
                "Existencia insuficiente de %(key)s: se solicitaron %(requested)d unidades y hay "
                "%(available)d disponibles."
            )
            % {"key": medicine_key, "requested": requested, "available": available},
            field="quantity",
        )

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data.update(
            {
                "medicine": self.medicine_key,
                "requested": self.requested,
                "available": self.available,
            }
        )
        return data
