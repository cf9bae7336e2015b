import factory

from bienestar.access.actor import Actor
from bienestar.access.models import User
from bienestar.access.roles import Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CLINICIAN
    password = factory.django.Password("contraseña-segura-1")


def actor_for(user: User | None, channel: str = "web") -> Actor:
    return Actor(user=user, client_address="127.0.0.1", channel=channel)
