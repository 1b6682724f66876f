"""The training API: sessions, frame batches, video uploads and LeRobot exports (thin views)."""

import django_filters
import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.models import Role
from accounts.permissions import HasOrganizationRole
from core.exceptions import PayloadTooLarge

from . import selectors, services
from .frames import BINARY_CONTENT_TYPE, FrameError, collector_paused, parse_binary_frames, parse_json_frames
from .models import DatasetExport, TrainingSession
from .serializers import (
    DatasetExportSerializer,
    EpisodeSerializer,
    ExportRequestSerializer,
    FrameBatchOptionsSerializer,
    FrameBatchResultSerializer,
    GestureLabelSerializer,
    TrainingSessionCreateSerializer,
    TrainingSessionDetailSerializer,
    TrainingSessionSerializer,
    TrainingSessionUpdateSerializer,
    VideoUploadSerializer,
)


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _frame_error(exc: FrameError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]})


class TrainingSessionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TrainingSession.Status.choices)
    robot_model = django_filters.CharFilter(field_name="robot_model__slug")
    owner = django_filters.CharFilter(method="filter_owner", help_text='A user id, or "me".')
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.request.user)
        if not value.isdigit():
            raise ValidationError({"owner": ['A user id or "me".']})
        return queryset.filter(owner_id=int(value))


@extend_schema(tags=["training"])
class TrainingSessionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Gesture recording sessions of the organisation: editors record, viewers read."""

    permission_classes = [HasOrganizationRole]
    queryset = TrainingSession.objects.none()
    serializer_class = TrainingSessionSerializer
    filterset_class = TrainingSessionFilter
    search_fields = ["name", "task"]
    ordering_fields = ["created_at", "name", "frame_count", "status"]

    def get_queryset(self):
        return selectors.sessions_for(self.request.organization)

    def get_object(self, *, detail: bool = False):
        return selectors.session_for(self.request.organization, self.kwargs["pk"], detail=detail)

    def _detail(self, session_id) -> dict:
        session = selectors.session_for(self.request.organization, session_id, detail=True)
        return TrainingSessionDetailSerializer(session, context={"request": self.request}).data

    @extend_schema(request=TrainingSessionCreateSerializer, responses={201: TrainingSessionDetailSerializer})
    def create(self, request):
        data = _validated(TrainingSessionCreateSerializer, request.data)
        session = services.create_session(actor=request.user, organization=request.organization, **data)
        return Response(self._detail(session.pk), status=status.HTTP_201_CREATED)

    @extend_schema(responses=TrainingSessionDetailSerializer)
    def retrieve(self, request, pk=None):
        return Response(self._detail(pk))

    @extend_schema(request=TrainingSessionUpdateSerializer, responses=TrainingSessionDetailSerializer)
    def partial_update(self, request, pk=None):
        session = self.get_object()
        data = _validated(TrainingSessionUpdateSerializer, request.data)
        services.update_session(actor=request.user, session=session, **data)
        return Response(self._detail(session.pk))

    def destroy(self, request, pk=None):
        session = self.get_object()
        if session.owner_id != request.user.id and not Role.at_least(request.membership.role, Role.ADMIN):
            raise PermissionDenied("Only the session's owner or an admin may delete it.", code="not_owner")
        services.delete_session(actor=request.user, session=session)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Append a batch of frames (JSON, or the binary body for high-rate clients)",
        description="JSON: `{episode, frames, gestures, end_episode}` (docs/training.md). Binary: "
                    f"`Content-Type: {BINARY_CONTENT_TYPE}` with `?episode=&end_episode=` in the query.",
        request=FrameBatchOptionsSerializer, responses={201: FrameBatchResultSerializer},
        parameters=[OpenApiParameter("episode", int, required=False, description="binary body only"),
                    OpenApiParameter("end_episode", bool, required=False, description="binary body only")],
    )
    def gestures(self, request, pk=None):
        session = self.get_object()
        body = request.body
        if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(f"A batch may be at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes; send "
                                  "smaller batches.")
        max_frames = settings.TRAINING_MAX_BATCH_FRAMES
        content_type = (request.content_type or "").split(";")[0].strip()
        if content_type == BINARY_CONTENT_TYPE:
            options = _validated(FrameBatchOptionsSerializer, {
                "episode": request.query_params.get("episode") or None, "frames": [],
                "end_episode": request.query_params.get("end_episode", "false"),
            })
            try:
                batch = parse_binary_frames(body, max_frames=max_frames)
            except FrameError as exc:
                raise _frame_error(exc) from exc
        elif content_type == "application/json":
            with collector_paused():
                try:
                    payload = orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    raise ParseError(f"The body is not valid JSON: {exc}") from exc
                if not isinstance(payload, dict):
                    raise ParseError("The body must be a JSON object with frames.")
                frames = payload.pop("frames", None)
                try:
                    batch = parse_json_frames(frames, max_frames=max_frames)
                except FrameError as exc:
                    raise _frame_error(exc) from exc
                del frames
            options = _validated(FrameBatchOptionsSerializer, {**payload, "frames": []})
        else:
            return Response({"error": {"code": "unsupported_media_type",
                                       "message": f"Send application/json or {BINARY_CONTENT_TYPE}."}},
                            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        result = services.ingest_frames(actor=request.user, session=session, batch=batch,
                                        episode_index=options["episode"], gestures=options["gestures"],
                                        end_episode=options["end_episode"], aspect=options["aspect"])
        return Response(result, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Label a span of an episode's frames", request=GestureLabelSerializer,
                   responses={201: EpisodeSerializer})
    def label(self, request, pk=None, index=None):
        session = self.get_object()
        episode = selectors.episode_for(session, index)
        data = _validated(GestureLabelSerializer, request.data)
        services.label_gesture(actor=request.user, episode=episode, **data)
        episode = selectors.episode_for(session, index, with_gestures=True)
        return Response(EpisodeSerializer(episode).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="An episode's frames (JSON)", responses=OpenApiResponse(description="{episode, frames}"),
                   parameters=[OpenApiParameter("start", int), OpenApiParameter("count", int)])
    def frames(self, request, pk=None, index=None):
        episode = selectors.episode_for(self.get_object(), index)
        try:
            start = max(int(request.query_params.get("start", 0)), 0)
            count = min(max(int(request.query_params.get("count", 1000)), 1), 5000)
        except ValueError as exc:
            raise ValidationError({"start": ["start and count must be integers."]}) from exc
        batch = selectors.episode_frames(episode, start, count)
        return Response({"episode": episode.index, "start": start, "total": episode.frame_count,
                         "frames": batch.to_json()})

    @extend_schema(summary="Confidence and presence over time (thinned for charts)",
                   responses=OpenApiResponse(description="series per hand"))
    def timeline(self, request, pk=None, index=None):
        episode = selectors.episode_for(self.get_object(), index)
        return Response(selectors.episode_timeline(episode))

    @extend_schema(summary="Upload a video; MediaPipe Hands runs over it in the background",
                   request={"multipart/form-data": VideoUploadSerializer}, responses={202: EpisodeSerializer})
    def video(self, request, pk=None):
        session = self.get_object()
        upload = request.FILES.get("video")
        if upload is None:
            raise ValidationError({"video": ["Attach the video as the multipart field 'video'."]})
        if upload.size > settings.TRAINING_VIDEO_MAX_BYTES:
            raise PayloadTooLarge(f"A video may be at most {settings.TRAINING_VIDEO_MAX_BYTES // (1024 * 1024)} MB.")
        episode = services.upload_video(actor=request.user, session=session, video=upload)
        episode.refresh_from_db()
        return Response(EpisodeSerializer(episode).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Start a LeRobot export (or get the existing one for this version)",
                   request=ExportRequestSerializer, responses={202: DatasetExportSerializer,
                                                               200: DatasetExportSerializer})
    def export(self, request, pk=None):
        session = self.get_object()
        if request.method == "GET":
            export = selectors.latest_export(session)
            if export is None:
                return Response({"error": {"code": "not_found", "message": "This session has not been exported yet."}},
                                status=status.HTTP_404_NOT_FOUND)
            return Response(DatasetExportSerializer(export, context={"request": request}).data)
        data = _validated(ExportRequestSerializer, request.data)
        export, created = services.request_export(actor=request.user, session=session, **data)
        export.refresh_from_db()
        return Response(DatasetExportSerializer(export, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


TrainingSessionViewSet.video.parser_classes = [MultiPartParser]


def archive_response(export: DatasetExport):
    """The export's zip: streamed from local storage, or a redirect to a signed URL on S3."""
    if isinstance(default_storage, FileSystemStorage):
        return FileResponse(default_storage.open(export.archive.name, "rb"), as_attachment=True,
                            filename=export.archive.name.rsplit("/", 1)[-1], content_type="application/zip")
    return HttpResponseRedirect(default_storage.url(export.archive.name))


@extend_schema(tags=["training"])
class DatasetExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """LeRobot exports of the organisation's sessions, with their download."""

    permission_classes = [HasOrganizationRole]
    queryset = DatasetExport.objects.none()
    serializer_class = DatasetExportSerializer
    filterset_fields = ["status", "session"]

    def get_queryset(self):
        return selectors.exports_for(self.request.organization)

    def get_object(self):
        return selectors.export_for(self.request.organization, self.kwargs["pk"])

    @extend_schema(summary="Download the dataset archive (zip)", responses={(200, "application/zip"): bytes})
    def download(self, request, pk=None):
        export = self.get_object()
        if not export.archive:
            return Response({"error": {"code": "not_ready", "message": f"This export is {export.status}."}},
                            status=status.HTTP_409_CONFLICT)
        return archive_response(export)
