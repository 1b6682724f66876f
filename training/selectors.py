"""Reads in training, scoped to the organisation."""

import numpy as np
from django.db.models import Prefetch, QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import Organization

from .frames import FrameBatch
from .models import DatasetExport, Episode, FrameChunk, GestureData, TrainingSession


def sessions_for(organization: Organization) -> QuerySet[TrainingSession]:
    return TrainingSession.objects.for_organization(organization).select_related("owner", "robot_model")


def session_for(organization: Organization, session_id, *, detail: bool = False) -> TrainingSession:
    sessions = sessions_for(organization)
    if detail:
        sessions = sessions.prefetch_related(
            Prefetch("episodes", queryset=Episode.objects.order_by("index").prefetch_related(
                Prefetch("gestures", queryset=GestureData.objects.select_related("episode")))))
    session = sessions.filter(pk=session_id).first() if str(session_id).isdigit() else None
    if session is None:
        raise NotFound("No such training session in this organization.")
    return session


def episode_for(session: TrainingSession, index, *, with_gestures: bool = False) -> Episode:
    episodes = session.episodes.all()
    if with_gestures:
        episodes = episodes.prefetch_related(Prefetch("gestures", queryset=GestureData.objects.select_related("episode")))
    episode = episodes.filter(index=index).first() if str(index).isdigit() else None
    if episode is None:
        raise NotFound(f"This session has no episode {index}.")
    return episode


def exports_for(organization: Organization) -> QuerySet[DatasetExport]:
    return DatasetExport.objects.for_organization(organization).select_related("session")


def export_for(organization: Organization, export_id) -> DatasetExport:
    export = exports_for(organization).filter(pk=export_id).first() if str(export_id).isdigit() else None
    if export is None:
        raise NotFound("No such export.")
    return export


def latest_export(session: TrainingSession) -> DatasetExport | None:
    return session.exports.order_by("-created_at", "-id").first()


def episode_frames(episode: Episode, start: int = 0, count: int | None = None) -> FrameBatch:
    """The episode's frames [start, start + count) read from the chunks that hold them."""
    end = episode.frame_count if count is None else min(episode.frame_count, start + count)
    chunks = (FrameChunk.objects.filter(episode=episode, first_frame__lt=end).order_by("seq")
              .values_list("first_frame", "frame_count", "timestamps", "values"))
    parts = []
    for first, n, timestamps, values in chunks:
        if first + n <= start:
            continue
        batch = FrameBatch.unpack(timestamps, values)
        lo, hi = max(start - first, 0), min(end - first, n)
        parts.append(FrameBatch(batch.timestamps[lo:hi], batch.values[lo:hi]))
    return FrameBatch.concatenate(parts)


def episode_timeline(episode: Episode, points: int = 600) -> dict:
    """Per-frame confidence and presence of both hands, thinned to about `points` samples, for charts."""
    batch = episode_frames(episode)
    n = len(batch)
    step = max(1, int(np.ceil(n / points))) if n else 1
    picked = np.arange(0, n, step)
    confidence = batch.confidence[picked] if n else np.zeros((0, 2))
    present = batch.present[picked] if n else np.zeros((0, 2), dtype=bool)
    return {
        "episode": episode.index,
        "frames": n,
        "step": step,
        "t": np.round(batch.timestamps[picked], 4).tolist(),
        "left_confidence": np.round(confidence[:, 0], 4).tolist(),
        "right_confidence": np.round(confidence[:, 1], 4).tolist(),
        "left_present": present[:, 0].astype(int).tolist(),
        "right_present": present[:, 1].astype(int).tolist(),
    }
