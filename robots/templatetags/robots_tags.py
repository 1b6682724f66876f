from django import template

from .. import selectors
from ..models import Robot

register = template.Library()


@register.simple_tag
def robots_online_count(organization) -> int:
    """How many of the organisation's robots have their agent connected (online or busy); 0 without one."""
    if not organization:
        return 0
    return selectors.robots_for(organization).filter(status__in=[Robot.Status.ONLINE, Robot.Status.BUSY]).count()
