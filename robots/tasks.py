from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def expire_overdue_commands() -> int:
    """Celery beat, every few seconds: time out commands past their deadline and take robots whose
    socket went silent offline (see services)."""
    services.mark_silent_robots_offline()
    return services.expire_overdue_commands()
