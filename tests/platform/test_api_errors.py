"""The API's error bodies, including the database being down (503, not 500)."""
from django.db import DatabaseError, OperationalError
from rest_framework.exceptions import ValidationError

from platform.api import exception_handler


def test_database_error_is_503_with_retry_after():
    response = exception_handler(OperationalError("connection refused"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data == {"error": {"code": 503, "message": "The database is unavailable: retry later."}}
    assert isinstance(OperationalError(), DatabaseError)


def test_validation_error_names_the_field():
    response = exception_handler(ValidationError({"name": ["This field is required."]}), {})
    assert response.status_code == 400
    assert response.data["error"]["message"] == "name: This field is required."
    assert response.data["error"]["fields"] == {"name": ["This field is required."]}
