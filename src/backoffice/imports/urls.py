from django.urls import path

from backoffice.imports import views

app_name = "imports"

urlpatterns = [
    path("import/<slug:kind>/", views.upload, name="upload"),
    path("import/<slug:kind>/template.<slug:file_format>", views.template_file, name="template"),
    path("import/<slug:kind>/<int:pk>/", views.preview, name="preview"),
    path("import/<slug:kind>/<int:pk>/import/", views.run, name="run"),
]
