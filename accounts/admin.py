"""Operator console for accounts: users, organisations, memberships and the (read-only) audit log."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count

from . import audit, user_cache
from .models import AuditLog, Membership, MfaBackupCode, Organization, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "organization"]
    fields = ["user", "organization", "role", "created_at"]
    readonly_fields = ["created_at"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ReadOnlyAdminMixin:
    """For trails written only by services (audit log, commands, exports): operators look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdminMixin:
    """Admin saves and deletes write the audit log like every other mutation."""

    def audit_organization(self, obj):
        return getattr(obj, "organization", None)

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        after = audit.snapshot(obj)
        if change:
            before, after = audit.changed_fields(before, after)
        audit.record(action=AuditLog.Action.UPDATE if change else AuditLog.Action.CREATE, actor=request.user,
                     organization=self.audit_organization(obj), instance=obj, before=before, after=after)

    def delete_model(self, request, obj):
        audit.record(action=AuditLog.Action.DELETE, actor=request.user, organization=self.audit_organization(obj),
                     instance=obj, before=audit.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "mfa_enabled", "organizations_count", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "mfa_enabled", "date_joined"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["date_joined", "last_login", "mfa_enabled"]
    inlines = [MembershipInline]
    actions = ["deactivate_users", "activate_users", "reset_mfa"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "sex", "date_of_birth", "timezone", "default_organization"]}),
        ("Security", {"fields": ["is_active", "mfa_enabled", "last_login", "date_joined"]}),
        ("Staff", {"classes": ["collapse"], "fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    autocomplete_fields = ["default_organization"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(organizations_total=Count("memberships"))

    @admin.display(description="Organisations", ordering="organizations_total")
    def organizations_count(self, obj):
        return obj.organizations_total

    def _set_active(self, request, queryset, active: bool):
        for user in queryset:
            before = audit.snapshot(user, ["is_active"])
            user.is_active = active
            user.save(update_fields=["is_active"])
            audit.record(action=AuditLog.Action.UPDATE, actor=request.user, instance=user,
                         before=before, after={"is_active": active})
        self.message_user(request, f"{queryset.count()} user(s) {'activated' if active else 'deactivated'}.", messages.SUCCESS)

    @admin.action(description="Deactivate selected users")
    def deactivate_users(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate selected users")
    def activate_users(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description="Reset MFA (user must enrol again)")
    def reset_mfa(self, request, queryset):
        for user in queryset.filter(mfa_enabled=True):
            User.objects.filter(pk=user.pk).update(mfa_enabled=False, mfa_secret="", mfa_last_step=0)
            user_cache.forget(user.pk)  # update() sends no post_save
            MfaBackupCode.objects.filter(user=user).delete()
            audit.record(action=AuditLog.Action.MFA_DISABLE, actor=request.user, instance=user)
        self.message_user(request, "MFA reset for the selected users.", messages.SUCCESS)


@admin.register(Organization)
class OrganizationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "tier", "members_count", "device_limit", "storage_quota_gb", "is_personal", "is_active", "created_at"]
    list_filter = ["tier", "is_personal", "is_active", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]
    actions = ["apply_tier_quotas"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(members_total=Count("memberships"))

    @admin.display(description="Members", ordering="members_total")
    def members_count(self, obj):
        return obj.members_total

    @admin.display(description="Storage quota (GB)", ordering="storage_quota_bytes")
    def storage_quota_gb(self, obj):
        return round(obj.storage_quota_bytes / 1024**3, 1)

    @admin.action(description="Reset quotas to the tier's defaults")
    def apply_tier_quotas(self, request, queryset):
        for organization in queryset:
            before = audit.snapshot(organization, ["storage_quota_bytes", "device_limit"])
            organization.apply_tier_quotas()
            organization.save(update_fields=["storage_quota_bytes", "device_limit"])
            audit.record(action=AuditLog.Action.UPDATE, actor=request.user, organization=organization,
                         instance=organization, before=before,
                         after=audit.snapshot(organization, ["storage_quota_bytes", "device_limit"]))
        self.message_user(request, "Quotas reset.", messages.SUCCESS)

    def audit_organization(self, obj):
        return obj


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "created_at"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the trail is written by services and never edited."""

    list_display = ["created_at", "actor_email", "organization", "action", "object_type", "object_repr", "ip_address"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor_email", "object_repr", "object_id", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditLog._meta.fields]
