from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True,
             max_retries=5, ignore_result=True)
def analyse_posture_video(self, analysis_id: int) -> None:
    """Run the pose model over a video's sampled frames and store the posture score series."""
    services.run_posture_analysis(analysis_id=analysis_id)
