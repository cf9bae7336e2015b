import datetime as dt
import random

import factory

from bienestar.people import national_id
from bienestar.people.models import IssuedHealthId, Person, Sex


def _health_id(n: int) -> str:
    value = national_id.generate(random.Random(n * 7919 + 17))
    IssuedHealthId.objects.get_or_create(value=value)
    return value


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    national_health_id = factory.Sequence(_health_id)
    given_names = "José"
    first_surname = "López"
    second_surname = "Hernández"
    sex = Sex.MALE
    birth_date = dt.date(1980, 5, 17)
    territory = None
