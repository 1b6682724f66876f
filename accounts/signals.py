"""Forget a user's cache entry (accounts/user_cache.py) whenever what it holds changes."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import user_cache
from .models import Membership, Organization, User


@receiver([post_save, post_delete], sender=User)
def user_changed(sender, instance, **kwargs):
    user_cache.drop_payload(instance)
    user_cache.forget(instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def membership_changed(sender, instance, **kwargs):
    user_cache.forget(instance.user_id)


@receiver([post_save, post_delete], sender=Organization)
def organization_changed(sender, instance, **kwargs):
    user_cache.forget(*Membership.objects.filter(organization_id=instance.pk).values_list("user_id", flat=True))
