"""The yoga and posture API (thin views): pose models, posture of a picture, the pose catalogue,
practice sessions and statistics."""

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import DomainError, PayloadTooLarge
from core.images import InvalidImage, decode_base64_image, decode_image

from . import geometry, selectors, services
from .estimators import ModelUnavailable, available_models, get_estimator
from .models import PostureAnalysis, PracticeSession, YogaPose
from .serializers import (
    BatchImagesInputSerializer,
    ImageInputSerializer,
    PostureAnalysisCreateSerializer,
    PostureAnalysisListSerializer,
    PostureAnalysisSerializer,
    PracticeSessionInputSerializer,
    PracticeSessionSerializer,
    PracticeStatsSerializer,
    YogaPoseSerializer,
)


@extend_schema(tags=["yoga"])
class YogaPoseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The pose catalogue: target joint angles and tolerances, instructions and common mistakes."""

    permission_classes = [IsAuthenticated]
    queryset = YogaPose.objects.none()
    serializer_class = YogaPoseSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.poses()

    def retrieve(self, request, name=None):
        pose = services.pose_named(name)
        if pose is None:
            raise NotFound(f"No pose named {name!r}; see /api/v1/yoga/poses.", code="unknown_pose")
        return Response(YogaPoseSerializer(pose).data)


@extend_schema(tags=["yoga"])
class PracticeSessionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your practice sessions (duration in minutes, the poses held with their accuracy)."""

    permission_classes = [IsAuthenticated]
    queryset = PracticeSession.objects.none()
    serializer_class = PracticeSessionSerializer
    filterset_fields = {"date": ["exact", "gte", "lte"]}
    ordering_fields = ["started_at", "duration", "avg_accuracy"]

    def get_queryset(self):
        return selectors.practice_sessions_for(self.request.user)

    def _input(self, request) -> dict:
        serializer = PracticeSessionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _out(self, session_id) -> dict:
        return PracticeSessionSerializer(selectors.practice_session_for(self.request.user, session_id)).data

    @extend_schema(request=PracticeSessionInputSerializer, responses={201: PracticeSessionSerializer})
    def create(self, request):
        session = services.create_practice_session(user=request.user, **self._input(request))
        return Response(self._out(session.pk), status=status.HTTP_201_CREATED)

    @extend_schema(responses=PracticeSessionSerializer)
    def retrieve(self, request, pk=None):
        return Response(self._out(pk))

    @extend_schema(request=PracticeSessionInputSerializer, responses=PracticeSessionSerializer)
    def update(self, request, pk=None):
        session = selectors.practice_session_for(request.user, pk)
        services.replace_practice_session(user=request.user, session=session, **self._input(request))
        return Response(self._out(pk))

    def destroy(self, request, pk=None):
        services.delete_practice_session(user=request.user, session=selectors.practice_session_for(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=PracticeStatsSerializer,
                   parameters=[OpenApiParameter("days", int, description="days of history (1–366, default 30)")])
    def stats(self, request):
        try:
            days = int(request.query_params.get("days", 30))
        except ValueError as exc:
            raise ValidationError({"days": ["A whole number of days."]}) from exc
        if not 1 <= days <= 366:
            raise ValidationError({"days": ["Between 1 and 366."]})
        return Response(PracticeStatsSerializer(selectors.practice_stats(request.user, days=days)).data)

    @extend_schema(responses=OpenApiResponse(description="per pose and per week"))
    def summary(self, request):
        return Response(selectors.practice_summary(request.user))


class NoPersonInPicture(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "no_person_detected"
    default_detail = "No person detected"


class PictureInvalid(DomainError):
    default_code = "invalid_image"


class ModelNotAvailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_unavailable"


def _submitted(request, field: str, many: bool) -> list:
    """The pictures as sent: uploaded files (multipart) or base64 strings (JSON), size-checked."""
    limit = settings.POSTURE_MAX_IMAGE_BYTES
    too_large = PayloadTooLarge(f"An image may be at most {limit // (1024 * 1024)} MB.")
    if request.content_type.startswith("multipart/"):
        items = request.FILES.getlist(field)
        if any(upload.size > limit for upload in items):
            raise too_large
        return items
    data = request.data if isinstance(request.data, dict) else {}
    items = data.get(field) if many else [data.get(field)]
    items = items if isinstance(items, list) else []
    if any(isinstance(item, str) and len(item) * 3 // 4 > limit for item in items):
        raise too_large
    return items


def _decoded(item):
    return decode_image(item.read()) if hasattr(item, "read") else decode_base64_image(item)


def pictures_from(request, field: str = "image") -> list:
    """The one picture of a request (multipart `image` or JSON base64 `image`), decoded."""
    items = _submitted(request, field, many=False)
    if not items or items[0] in (None, ""):
        raise PictureInvalid({field: ["No image provided."]})
    try:
        return [_decoded(items[0])]
    except InvalidImage as exc:
        raise PictureInvalid({field: [str(exc)]}) from exc


def estimate(model: str, rgb):
    """(keypoints, latency ms) from the named model, with the API's errors."""
    try:
        estimator = get_estimator(model)
    except ModelUnavailable as exc:
        raise ModelNotAvailable(str(exc)) from exc
    started = time.perf_counter()
    try:
        keypoints = estimator.estimate(rgb)
    except geometry.NoPersonDetected as exc:
        raise NoPersonInPicture("No person detected") from exc
    return keypoints, round((time.perf_counter() - started) * 1000, 1)


@extend_schema(tags=["posture"])
class PoseModelsView(APIView):
    """The configured pose models: which are available, on what device (and why not)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiResponse(description="{default, models: [{name, backend, default, keypoints, "
                                                         "available, device, reason}]}"))
    def get(self, request):
        return Response({"default": settings.DEFAULT_POSE_MODEL, "models": available_models()})


@extend_schema(tags=["posture"])
class PostureAnalyzeView(APIView):
    """The posture of the person in one picture: keypoints, a 0–100 score and the issues behind it."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(parameters=[OpenApiParameter("model", str, description="a pose model (default: mediapipe)")],
                   request={"multipart/form-data": ImageInputSerializer, "application/json": ImageInputSerializer},
                   responses=OpenApiResponse(description="{keypoints, posture_score, issues, measures, model, "
                                                         "latency_ms}"))
    def post(self, request):
        model = request.query_params.get("model", settings.DEFAULT_POSE_MODEL)
        (rgb,) = pictures_from(request)
        keypoints, latency = estimate(model, rgb)
        try:
            return Response(services.posture_of_keypoints(keypoints, model=model, latency_ms=latency))
        except geometry.NoPersonDetected as exc:
            raise NoPersonInPicture("No person detected") from exc


class NotEnoughOfThePerson(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "not_enough_keypoints"


def _catalogue_pose(name: str):
    row = services.pose_named(name)
    if row is None:
        raise NotFound(f"No pose named {name!r}; see /api/v1/yoga/poses.", code="unknown_pose")
    return row.as_pose()


def _keypoints_payload(keypoints, model: str, latency_ms: float) -> dict:
    return {"keypoints": services.keypoints_json(keypoints), "model": model, "latency_ms": latency_ms}


def _yoga_result(rgb, model: str, pose=None) -> dict:
    """Analysis against `pose`, or recognition when it is None, of one picture."""
    from .yoga import NotEnoughKeypoints, analyze_pose, recognise_pose

    keypoints, latency = estimate(model, rgb)
    try:
        result = analyze_pose(keypoints, pose) if pose is not None else recognise_pose(keypoints)
    except NotEnoughKeypoints as exc:
        raise NotEnoughOfThePerson(str(exc) or "Too little of the person is visible to judge the pose.") from exc
    except geometry.NoPersonDetected as exc:
        raise NoPersonInPicture("No person detected") from exc
    return {**result, **_keypoints_payload(keypoints, model, latency)}


@extend_schema(tags=["yoga"])
class YogaAnalyzeView(APIView):
    """One picture against a pose: accuracy, per-joint deviations, feedback and improvements."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(parameters=[OpenApiParameter("model", str, description="a pose model (default: mediapipe)")],
                   request={"multipart/form-data": ImageInputSerializer, "application/json": ImageInputSerializer},
                   responses=OpenApiResponse(description="the analysis with keypoints, model and latency_ms"),
                   operation_id="yoga_analyze_pose")
    def post(self, request, pose_name: str):
        pose = _catalogue_pose(pose_name)
        (rgb,) = pictures_from(request)
        return Response(_yoga_result(rgb, request.query_params.get("model", settings.DEFAULT_POSE_MODEL), pose))


@extend_schema(tags=["yoga"])
class YogaRecogniseView(APIView):
    """Which pose one picture shows (classifier + rules), with its analysis."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(parameters=[OpenApiParameter("model", str, description="a pose model (default: mediapipe)")],
                   request={"multipart/form-data": ImageInputSerializer, "application/json": ImageInputSerializer},
                   responses=OpenApiResponse(description="{pose, side, confidence, candidates, analysis, keypoints, "
                                                         "model, latency_ms}"),
                   operation_id="yoga_recognise_pose")
    def post(self, request):
        (rgb,) = pictures_from(request)
        return Response(_yoga_result(rgb, request.query_params.get("model", settings.DEFAULT_POSE_MODEL)))


@extend_schema(tags=["yoga"])
class YogaBatchAnalyzeView(APIView):
    """Many pictures in one request (`images`; `pose` to analyse against one pose, else each is
    recognised): a result or an error per picture, in order."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]
    max_images = 32

    @extend_schema(request={"multipart/form-data": BatchImagesInputSerializer,
                            "application/json": BatchImagesInputSerializer},
                   responses=OpenApiResponse(description="{results: [...], count, seconds, images_per_second}"))
    def post(self, request):
        started = time.perf_counter()
        pose_name = request.data.get("pose") if hasattr(request.data, "get") else None
        pose = _catalogue_pose(pose_name) if pose_name else None
        items = _submitted(request, "images", many=True)
        if not items:
            raise PictureInvalid({"images": ["No image provided."]})
        if len(items) > self.max_images:
            raise ValidationError({"images": [f"At most {self.max_images} images per request."]})
        model = request.query_params.get("model", settings.DEFAULT_POSE_MODEL)
        results = []
        for index, item in enumerate(items):  # one bad picture is reported, not fatal to the batch
            try:
                results.append({"index": index, **_yoga_result(_decoded(item), model, pose)})
            except InvalidImage as exc:
                results.append({"index": index, "error": {"code": "invalid_image", "message": str(exc)}})
            except (NoPersonInPicture, NotEnoughOfThePerson) as exc:
                results.append({"index": index, "error": {"code": exc.error_code, "message": str(exc.detail)}})
        seconds = time.perf_counter() - started
        return Response({"results": results, "count": len(results), "seconds": round(seconds, 3),
                         "images_per_second": round(len(results) / seconds, 2) if seconds else None})


@extend_schema(tags=["posture"])
class PostureAnalysisViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your posture analyses of videos (uploaded, or a URL): a score series and a summary, computed
    in the background with `analysis_progress` events."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]
    queryset = PostureAnalysis.objects.none()
    serializer_class = PostureAnalysisListSerializer
    filterset_fields = ["status"]

    def get_queryset(self):
        return PostureAnalysis.objects.filter(user=self.request.user)

    def _own(self, pk) -> PostureAnalysis:
        analysis = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if analysis is None:
            raise NotFound("No such analysis.")
        return analysis

    @extend_schema(request={"multipart/form-data": PostureAnalysisCreateSerializer,
                            "application/json": PostureAnalysisCreateSerializer},
                   responses={202: PostureAnalysisSerializer})
    def create(self, request):
        serializer = PostureAnalysisCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data.get("video")
        if upload is not None and upload.size > settings.POSTURE_MAX_VIDEO_BYTES:
            raise PayloadTooLarge(f"A video may be at most {settings.POSTURE_MAX_VIDEO_BYTES // (1024 * 1024)} MB.")
        analysis = services.create_analysis(user=request.user, text=data["text"], video=upload,
                                            video_url=data["video_url"], model=data.get("model"),
                                            sample_fps=data["sample_fps"])
        return Response(PostureAnalysisSerializer(self._own(analysis.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=PostureAnalysisSerializer)
    def retrieve(self, request, pk=None):
        return Response(PostureAnalysisSerializer(self._own(pk)).data)

    def destroy(self, request, pk=None):
        services.delete_analysis(user=request.user, analysis=self._own(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
