from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import exporting, services


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True,
             max_retries=5, ignore_result=True)
def export_lerobot_dataset(self, export_id: int) -> None:
    """Build and publish a LeRobot export (redelivered if the worker dies; a rerun starts clean)."""
    exporting.run_dataset_export(export_id=export_id)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True,
             max_retries=5, ignore_result=True)
def extract_video_landmarks(self, episode_id: int) -> None:
    """Run MediaPipe Hands over an uploaded video's frames and store them as the episode's frames."""
    services.run_video_extraction(episode_id=episode_id)
