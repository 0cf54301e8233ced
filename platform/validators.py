from django.core.validators import RegexValidator

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Device, bucket, endpoint and property ids (API.md): they appear in URLs, so keep them plain.
id_validator = RegexValidator(ID_PATTERN, "Use 1 to 64 letters, digits, '_' or '-'.")
