"""What operations keep about themselves: the archived partitions of the big tables."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PartitionArchive(models.Model):
    """One month of a partitioned table, detached after its retention period and written to a
    file (gzip CSV with a header). The record is how an archived month is found again; the rows
    left the live table only once the file was written, read back and counted."""

    table = models.CharField(max_length=63)
    partition = models.CharField(max_length=63, unique=True)
    range_start = models.DateField()
    range_end = models.DateField()
    rows = models.BigIntegerField()
    file = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField(auto_now_add=True)
    dropped = models.BooleanField(
        default=False, help_text=_("La tabla separada se eliminó tras archivarla")
    )

    class Meta:
        ordering = ["table", "range_start"]
        verbose_name = _("partición archivada")
        verbose_name_plural = _("particiones archivadas")

    def __str__(self) -> str:
        return self.partition
