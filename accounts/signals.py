"""Forget cached users and `/auth/me` payloads whenever what they hold changes."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Membership, Organization, User
from .selectors import forget_me, forget_user


@receiver([post_save, post_delete], sender=User)
def user_changed(sender, instance, **kwargs):
    forget_user(instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    forget_me(instance.user_id)


@receiver([post_save, post_delete], sender=Organization)
def organization_changed(sender, instance, **kwargs):
    forget_me(*Membership.objects.filter(organization_id=instance.pk).values_list("user_id", flat=True))
