"""Persons and everything that identifies them.

Designed for a master patient index that links and merges records from several institutions
reversibly:
- a `Person` row is never deleted; a merge marks the absorbed person `merged` and points it at
  the survivor (`merged_into`), keeping all of its identifiers, addresses and source records;
- `PersonSourceRecord` keeps each institution's record exactly as it arrived;
- every change is a `PersonChange` row (who, from which source, which fields, before and after),
  and every merge a `PersonMerge` row that can be undone.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce, Concat, Lower, Now
from django.utils.translation import gettext_lazy as _

from bienestar.core.models import BaseModel
from bienestar.territories.models import Territory


class Sex(models.TextChoices):
    FEMALE = "F", _("Mujer")
    MALE = "M", _("Hombre")
    OTHER = "X", _("No binario / otro")
    UNKNOWN = "U", _("Desconocido")


class Disability(models.TextChoices):
    NONE = "none", _("Ninguna")
    PHYSICAL = "physical", _("Motriz")
    VISUAL = "visual", _("Visual")
    HEARING = "hearing", _("Auditiva")
    SPEECH = "speech", _("Del habla o lenguaje")
    INTELLECTUAL = "intellectual", _("Intelectual")
    PSYCHOSOCIAL = "psychosocial", _("Psicosocial")
    MULTIPLE = "multiple", _("Múltiple")
    UNKNOWN = "unknown", _("No especificada")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Activa")
    MERGED = "merged", _("Fusionada")


class IdentifierSystem(models.TextChoices):
    CURP = "curp", "CURP"
    CO_CC = "co-cc", _("Cédula de ciudadanía (CC)")
    CO_TI = "co-ti", _("Tarjeta de identidad (TI)")
    CO_RC = "co-rc", _("Registro civil (RC)")
    CO_CE = "co-ce", _("Cédula de extranjería (CE)")
    CO_PA = "co-pa", _("Pasaporte (PA)")
    CO_PPT = "co-ppt", _("Permiso por protección temporal (PPT)")
    IMSS_NSS = "imss-nss", _("Número de seguridad social IMSS (NSS)")
    ISSSTE = "issste", _("Número de afiliación ISSSTE")
    RECORD = "record", _("Número de expediente institucional")


class ValidationRule(models.TextChoices):
    """How the values of an identifier system are checked (see people/identifier_systems.py)."""

    CURP = "curp", _("CURP: estructura oficial y dígito verificador de RENAPO")
    IMSS_NSS = "imss-nss", _("NSS del IMSS: 11 dígitos")
    CO_DOCUMENT = "co-document", _("Documento colombiano: letras y dígitos")
    UPPER_TEXT = "upper-text", _("Texto, en mayúsculas")
    AS_GIVEN = "as-given", _("Sin regla conocida: se guarda como llega")


class SystemStatus(models.TextChoices):
    VERIFIED = "verified", _("Verificado")
    UNVERIFIED = "unverified", _("Sin verificar")


class IdentifierSystemEntry(models.Model):
    """One identifier system in the registry: the systems Bienestar knows (seeded with their rules)
    and every other system a client has sent (added `unverified`, its values stored as given).

    `code` is what `PersonIdentifier.system` holds: the short code of a seeded system (``curp``),
    or the URI itself for any other system, so a stored identifier maps to its URI without a
    lookup (people/identifier_systems.py)."""

    code = models.CharField(max_length=255, unique=True)
    uri = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=200, blank=True)
    issuer = models.CharField(max_length=200, blank=True, help_text=_("Institución que lo emite"))
    country = models.CharField(max_length=2, blank=True, help_text=_("País (ISO 3166-1 alfa-2)"))
    rule = models.CharField(
        max_length=20, choices=ValidationRule.choices, default=ValidationRule.AS_GIVEN
    )
    status = models.CharField(
        max_length=12, choices=SystemStatus.choices, default=SystemStatus.UNVERIFIED
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    first_seen_via = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("sistema de identificadores")
        verbose_name_plural = _("sistemas de identificadores")

    def __str__(self) -> str:
        return self.name or self.uri


class AffiliationScheme(models.TextChoices):
    NONE = "none", _("Sin seguridad social")
    IMSS = "imss", "IMSS"
    ISSSTE = "issste", "ISSSTE"
    IMSS_BIENESTAR = "imss-bienestar", "IMSS-Bienestar"
    PEMEX = "pemex", "Pemex"
    SEDENA = "sedena", "Sedena"
    SEMAR = "semar", "Semar"
    PRIVATE = "private", _("Seguro privado")
    CO_CONTRIBUTORY = "co-contributory", _("EPS régimen contributivo")
    CO_SUBSIDISED = "co-subsidised", _("EPS régimen subsidiado")
    CO_SPECIAL = "co-special", _("Régimen especial o de excepción")


class AffiliationSource(models.TextChoices):
    SELF_DECLARED = "self-declared", _("Declarada por la persona")
    INSTITUTION_LIST = "institution-list", _("Padrón de la institución")
    INSURER_LIST = "insurer-list", _("Padrón de la aseguradora o EPS")
    IMPORT = "import", _("Importación")
    SYNTH = "synth", _("Generador sintético")


class Person(BaseModel):
    national_health_id = models.CharField(max_length=11, unique=True, editable=False)
    given_names = models.CharField(max_length=120)
    first_surname = models.CharField(max_length=80)
    second_surname = models.CharField(max_length=80, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField()
    birth_date_estimated = models.BooleanField(default=False)
    indigenous = models.BooleanField(null=True, blank=True, help_text=_("Autoadscripción indígena"))
    indigenous_language = models.CharField(max_length=60, blank=True)
    disability = models.CharField(
        max_length=20, choices=Disability.choices, default=Disability.UNKNOWN
    )
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="residents",
        help_text=_(
            "Territorio de residencia más fino conocido; define quién puede ver el registro"
        ),
    )
    status = models.CharField(
        max_length=10, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed"
    )
    deceased_date = models.DateField(null=True, blank=True)
    # Bumped by a database trigger on every UPDATE of the row (whoever writes it), so that the FHIR
    # API can give each state of the record a version and refuse a stale If-Match (ADR 0006).
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Lower-case, accent-free "given first second" kept by PostgreSQL itself, for trigram search.
    name_search = models.GeneratedField(
        expression=models.Func(
            Lower(
                Concat(
                    "given_names",
                    models.Value(" "),
                    "first_surname",
                    models.Value(" "),
                    Coalesce("second_surname", models.Value("")),
                    output_field=models.TextField(),
                )
            ),
            function="bienestar_unaccent",
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["first_surname", "second_surname", "given_names"]
        indexes = [
            models.Index(fields=["territory", "status"]),
            models.Index(fields=["birth_date"]),
            GinIndex(OpClass(F("name_search"), name="gin_trgm_ops"), name="person_name_trgm"),
            # The words of the name (the postings of name search, see NameWord): `&&` on the very
            # expression `string_to_array(name_search, ' ')` is served by this index.
            GinIndex(
                models.Func(
                    F("name_search"),
                    models.Value(" "),
                    function="string_to_array",
                    output_field=ArrayField(models.TextField()),
                ),
                name="person_name_words",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="merged", merged_into__isnull=False)
                    | models.Q(status="active", merged_into__isnull=True)
                ),
                name="person_merged_has_target",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")), name="person_not_merged_into_self"
            ),
        ]
        verbose_name = _("persona")
        verbose_name_plural = _("personas")

    def __str__(self) -> str:
        return f"Person {self.public_id}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in [self.given_names, self.first_surname, self.second_surname] if p)


class NameWord(models.Model):
    """Every distinct word of every person's `name_search`: the dictionary that name search matches
    typed words against (with typos) before looking persons up by exact words.

    Kept by PostgreSQL itself (statement-level triggers on people_person, so COPY fills it too; see
    migration 0003). Words are only ever added: one no person bears any more matches nobody."""

    word = models.TextField(primary_key=True)

    class Meta:
        indexes = [GinIndex(OpClass(F("word"), name="gin_trgm_ops"), name="nameword_trgm")]

    def __str__(self) -> str:
        return self.word


class IssuedHealthId(models.Model):
    """Every national health ID ever issued. Rows are never removed, so an ID is never reused."""

    value = models.CharField(max_length=11, primary_key=True)
    issued_at = models.DateTimeField(auto_now_add=True)


class PersonIdentifier(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="identifiers")
    # The code of an IdentifierSystemEntry: a seeded system's code (IdentifierSystem) or a URI.
    system = models.CharField(max_length=255)
    value = models.CharField(max_length=120)
    source = models.CharField(
        max_length=40, blank=True, help_text=_("Institución o sistema que lo registró")
    )
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="identifier_unique_per_system")
        ]
        indexes = [models.Index(fields=["person", "system"])]

    def get_system_display(self) -> str:
        """A seeded system's name, or the URI of any other system."""
        if self.system in IdentifierSystem.values:
            return str(IdentifierSystem(self.system).label)
        return self.system


class PersonAffiliation(BaseModel):
    """A dated fact: from `start` to `end` (open when null) the person was covered by `scheme`
    (with `insurer`, the EPS in Colombia), according to `source`. Rows are never deleted nor
    rewritten: a change ends the fact and records a new one (people/affiliations.py)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="affiliations")
    scheme = models.CharField(max_length=20, choices=AffiliationScheme.choices)
    insurer = models.CharField(max_length=120, blank=True, help_text=_("EPS u otra aseguradora"))
    member_number = models.CharField(max_length=40, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True)
    recorded_at = models.DateTimeField(db_default=Now())
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["person", "end"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True)
                | models.Q(start__isnull=True)
                | models.Q(end__gte=models.F("start")),
                name="affiliation_end_after_start",
            )
        ]

    @property
    def source_label(self) -> str:
        if self.source in AffiliationSource.values:
            return str(AffiliationSource(self.source).label)
        return self.source


class AddressUse(models.TextChoices):
    HOME = "home", _("Domicilio")
    WORK = "work", _("Trabajo")
    TEMP = "temp", _("Temporal")


class PersonAddress(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="addresses")
    use = models.CharField(max_length=10, choices=AddressUse.choices, default=AddressUse.HOME)
    line = models.CharField(max_length=250, blank=True)
    neighbourhood = models.CharField(max_length=120, blank=True, help_text=_("Colonia o barrio"))
    postal_code = models.CharField(max_length=10, blank=True)
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="+")
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)


class ContactSystem(models.TextChoices):
    PHONE = "phone", _("Teléfono")
    MOBILE = "mobile", _("Celular")
    EMAIL = "email", _("Correo electrónico")


class PersonContact(BaseModel):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="contacts")
    system = models.CharField(max_length=10, choices=ContactSystem.choices)
    value = models.CharField(max_length=120)


class PersonSourceRecord(BaseModel):
    """One institution's record of a person, kept as it arrived, linked to the person it belongs to."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="source_records")
    source_system = models.CharField(max_length=40)
    source_record_id = models.CharField(max_length=80)
    data = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_record_id"], name="source_record_unique"
            )
        ]


class ChangeSource(models.TextChoices):
    WEB = "web", _("Página web")
    API = "api", "API"
    FHIR = "fhir", "FHIR"
    IMPORT = "import", _("Importación")
    SYNTH = "synth", _("Generador sintético")
    MPI = "mpi", _("Índice maestro de pacientes")


class PersonChange(models.Model):
    """Provenance of every change to a person: who, from where, which fields, before and after."""

    id = models.BigAutoField(primary_key=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="changes")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    action = models.CharField(max_length=20)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["person", "at"])]


class PersonMerge(models.Model):
    """`merged` was folded into `survivor`. Undoing a merge sets `undone_at` and restores `merged`."""

    id = models.BigAutoField(primary_key=True)
    survivor = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_won")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="merges_lost")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=250)
    match_score = models.FloatField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
