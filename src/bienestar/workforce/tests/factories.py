import datetime as dt

import factory

from bienestar.workforce.models import Position, Practitioner, Specialty, StaffingGoal


class SpecialtyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Specialty
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"specialty_{n}")
    name = factory.Sequence(lambda n: f"Especialidad {n}")
    is_core = False


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    given_names = "Laura"
    first_surname = factory.Sequence(lambda n: f"Méndez{n}")
    licence_number = factory.Sequence(lambda n: f"{10000000 + n}")


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    facility = None
    specialty = factory.SubFactory(SpecialtyFactory)
    practitioner = None
    since = dt.date(2024, 1, 1)


class StaffingGoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffingGoal

    facility = None
    specialty = factory.SubFactory(SpecialtyFactory)
    goal = 1
