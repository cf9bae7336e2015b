"""Seed the catalogue of specialties and health professions.

Codes are stable identifiers (other tables, staffing goals and exports refer to them); names are
Spanish with the English name beside. The six core specialties every rural community hospital must
staff carry is_core=True. Re-running only fills what is missing or renames; the reverse removes only
rows that nothing refers to.
"""

from django.db import migrations

# code, Spanish name, English name, is_core, is_medical
SPECIALTIES = [
    ("general_surgery", "Cirugía general", "General surgery", True, True),
    ("anaesthesiology", "Anestesiología", "Anaesthesiology", True, True),
    ("paediatrics", "Pediatría", "Paediatrics", True, True),
    (
        "obstetrics_gynaecology",
        "Ginecología y obstetricia",
        "Obstetrics and gynaecology",
        True,
        True,
    ),
    ("internal_medicine", "Medicina interna", "Internal medicine", True, True),
    ("emergency_medicine", "Medicina de urgencias", "Emergency medicine", True, True),
    ("family_medicine", "Medicina familiar", "Family medicine", False, True),
    ("general_practice", "Medicina general", "General practice", False, True),
    (
        "traumatology_orthopaedics",
        "Traumatología y ortopedia",
        "Traumatology and orthopaedics",
        False,
        True,
    ),
    ("ophthalmology", "Oftalmología", "Ophthalmology", False, True),
    ("cardiology", "Cardiología", "Cardiology", False, True),
    ("psychiatry", "Psiquiatría", "Psychiatry", False, True),
    ("epidemiology", "Epidemiología", "Epidemiology", False, True),
    ("public_health", "Salud pública", "Public health", False, True),
    ("neonatology", "Neonatología", "Neonatology", False, True),
    ("geriatrics", "Geriatría", "Geriatrics", False, True),
    ("radiology", "Imagenología diagnóstica y terapéutica", "Radiology and imaging", False, True),
    ("pathology", "Anatomía patológica", "Pathology", False, True),
    ("nephrology", "Nefrología", "Nephrology", False, True),
    ("endocrinology", "Endocrinología", "Endocrinology", False, True),
    ("otorhinolaryngology", "Otorrinolaringología", "Otorhinolaryngology", False, True),
    ("dermatology", "Dermatología", "Dermatology", False, True),
    ("urology", "Urología", "Urology", False, True),
    (
        "physical_rehabilitation_medicine",
        "Medicina de rehabilitación",
        "Physical and rehabilitation medicine",
        False,
        True,
    ),
    ("nursing", "Enfermería", "Nursing", False, False),
    ("psychology", "Psicología", "Psychology", False, False),
    ("nutrition", "Nutrición", "Nutrition", False, False),
    ("dentistry", "Odontología", "Dentistry", False, False),
    (
        "rehabilitation_therapy",
        "Terapia física y rehabilitación",
        "Physical therapy and rehabilitation",
        False,
        False,
    ),
    (
        "environmental_engineering",
        "Ingeniería ambiental",
        "Environmental engineering",
        False,
        False,
    ),
    ("social_work", "Trabajo social", "Social work", False, False),
    (
        "pharmacy",
        "Farmacia (química farmacéutica)",
        "Pharmacy (pharmaceutical chemistry)",
        False,
        False,
    ),
    (
        "clinical_laboratory",
        "Laboratorio clínico (química clínica)",
        "Clinical laboratory (clinical chemistry)",
        False,
        False,
    ),
    ("health_promotion", "Promoción de la salud", "Health promotion", False, False),
    ("midwifery", "Partería profesional", "Professional midwifery", False, False),
]


def seed(apps, schema_editor):
    Specialty = apps.get_model("workforce", "Specialty")
    for code, name, name_en, is_core, is_medical in SPECIALTIES:
        Specialty.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "is_core": is_core,
                "is_medical": is_medical,
            },
        )


def unseed(apps, schema_editor):
    Specialty = apps.get_model("workforce", "Specialty")
    codes = [row[0] for row in SPECIALTIES]
    Specialty.objects.filter(
        code__in=codes,
        positions__isnull=True,
        staffing_goals__isnull=True,
        practitioners__isnull=True,
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workforce", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
