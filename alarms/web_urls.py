from django.urls import path

from alarms import views

urlpatterns = [
    path("alarms/", views.alarm_list, name="alarm_list"),
    path("alarms/badge/", views.alarm_badge, name="alarm_badge"),
    path("alarms/rules/", views.rule_list, name="alarm_rule_list"),
    path("alarms/rules/+new/", views.rule_create, name="alarm_rule_create"),
    path("alarms/rules/<id:rule_id>/edit/", views.rule_edit, name="alarm_rule_edit"),
    path("alarms/rules/<id:rule_id>/delete/", views.rule_delete, name="alarm_rule_delete"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm_detail"),
    path("alarms/<int:pk>/<str:action>/", views.alarm_action, name="alarm_action"),
]
