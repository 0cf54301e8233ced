from django.urls import path

from dashboards import views, widget_views

D = "dashboards/<id:dashboard_id>"
W = f"{D}/widgets/<id:widget_id>"

urlpatterns = [
    path("dashboards/", views.dashboard_list, name="dashboard_list"),
    path("dashboards/+new/", views.dashboard_create, name="dashboard_create"),
    path(f"{D}/", views.dashboard_detail, name="dashboard_detail"),
    path(f"{D}/edit/", views.dashboard_edit, name="dashboard_edit"),
    path(f"{D}/delete/", views.dashboard_delete, name="dashboard_delete"),
    path(f"{D}/refresh/", views.dashboard_refresh, name="dashboard_refresh"),
    path(f"{D}/share/", views.dashboard_share, name="dashboard_share"),
    path(f"{D}/share/revoke/", views.dashboard_unshare, name="dashboard_unshare"),
    path(f"{D}/widgets/+new/", widget_views.widget_create, name="dashboard_widget_create"),
    path(f"{W}/edit/", widget_views.widget_edit, name="dashboard_widget_edit"),
    path(f"{W}/move/", widget_views.widget_move, name="dashboard_widget_move"),
    path(f"{W}/delete/", widget_views.widget_delete, name="dashboard_widget_delete"),
    path(f"{W}/property/", widget_views.widget_property, name="dashboard_widget_property"),
    path(f"{W}/downlink/", widget_views.widget_downlink, name="dashboard_widget_downlink"),
    # The read-only page of a share link: GET only, and nothing under it acts.
    path("shared/<str:secret>/", views.shared_dashboard, name="shared_dashboard"),
    path("shared/<str:secret>/refresh/", views.shared_refresh, name="shared_refresh"),
]
