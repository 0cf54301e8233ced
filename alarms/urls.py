from django.urls import path

from alarms import api

A = "v1/users/<str:user>/alarms"

urlpatterns = [
    path(f"{A}/rules", api.RuleList.as_view(), name="api-alarm-rules"),
    path(f"{A}/rules/<str:rule>", api.RuleDetail.as_view(), name="api-alarm-rule"),
    path(A, api.AlarmList.as_view(), name="api-alarms"),
    path(f"{A}/<int:alarm>", api.AlarmDetail.as_view(), name="api-alarm"),
    path(f"{A}/<int:alarm>/acknowledge", api.AlarmAcknowledge.as_view(), name="api-alarm-acknowledge"),
    path(f"{A}/<int:alarm>/shelve", api.AlarmShelve.as_view(), name="api-alarm-shelve"),
    path(f"{A}/<int:alarm>/clear", api.AlarmClear.as_view(), name="api-alarm-clear"),
]
