from django.urls import path

from platform import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
