from django.contrib import admin

from platform.models import AccessToken


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key", "created", "last_used"]
    search_fields = ["name", "user__username", "key"]
    readonly_fields = ["key", "created", "last_used"]
    exclude = ["token_hash"]
