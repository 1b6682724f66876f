from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import urls as accounts_urls
from core import views as core_views
from posture import urls as posture_urls
from robots import urls as robots_urls
from training import urls as training_urls

api_v1 = [
    *accounts_urls.api_urlpatterns,
    *robots_urls.api_urlpatterns,
    *training_urls.api_urlpatterns,
    *posture_urls.api_urlpatterns,
]

urlpatterns = [
    path("", include("core.urls")),
    path("health", core_views.health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("robots/", include("robots.page_urls")),
    path("training/", include("training.page_urls")),
    path("", include("posture.page_urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

handler400 = "core.exceptions.handler400"
handler403 = "core.exceptions.handler403"
handler404 = "core.exceptions.handler404"
handler500 = "core.exceptions.handler500"

admin.site.site_header = "Physical AI Platform — operations"
admin.site.site_title = "Physical AI Platform admin"
admin.site.index_title = "Operator console"
