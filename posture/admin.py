"""The operator console for posture and yoga: the pose catalogue (editable by staff; a target that
does not parse is refused) and people's practice sessions (read-only)."""

from django.contrib import admin

from accounts.admin import AuditedAdminMixin, ReadOnlyAdminMixin

from .models import PostureAnalysis, PracticePose, PracticeSession, YogaPose


@admin.register(YogaPose)
class YogaPoseAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "sanskrit", "difficulty", "side_refers_to", "joints", "is_active", "updated_at"]
    list_filter = ["difficulty", "is_active"]
    search_fields = ["name", "sanskrit", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "sanskrit", "difficulty", "is_active"]}),
        ("Scoring", {"fields": ["targets", "side_refers_to"],
                     "description": 'Targets by joint in degrees: {"left_knee": [target, tolerance] or '
                                    '[target, tolerance, weight], ...}; joints: left/right_elbow, _shoulder, '
                                    '_hip, _knee and torso_inclination. A pose with sides is given for its left '
                                    'side; say what "left" means (e.g. "front leg"). Recognition\'s classifier '
                                    'is trained on the shipped targets; the rules use these.'}),
        ("Coaching", {"fields": ["description", "instructions", "common_mistakes", "benefits"]}),
    ]

    @admin.display(description="Joints scored")
    def joints(self, obj):
        return len(obj.targets)


class PracticePoseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PracticePose
    extra = 0
    fields = ["order", "pose_name", "accuracy", "feedback", "improvements"]
    readonly_fields = fields


@admin.register(PracticeSession)
class PracticeSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: sessions are written by their owners through the API and pages."""

    list_display = ["user", "date", "duration", "avg_accuracy", "created_at"]
    list_filter = ["date"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    date_hierarchy = "date"
    readonly_fields = [field.name for field in PracticeSession._meta.fields]
    inlines = [PracticePoseInline]


@admin.register(PostureAnalysis)
class PostureAnalysisAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: analyses are made by their owners and filled in by the analysis job."""

    list_display = ["id", "user", "status", "model", "mean_score", "created_at", "finished_at"]
    list_filter = ["status", "model", "created_at"]
    search_fields = ["user__email", "text", "video_url"]
    list_select_related = ["user"]
    readonly_fields = [field.name for field in PostureAnalysis._meta.fields]

    @admin.display(description="Mean score")
    def mean_score(self, obj):
        return obj.summary.get("mean_score") if obj.summary else None
