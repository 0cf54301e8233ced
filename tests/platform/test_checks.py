"""Operators' mistakes caught at start: DEBUG off with a per-process cache (platform/checks.py)."""
import os
import subprocess
import sys

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from platform.checks import refuse_unsafe_start, shared_cache_check
from tests.stack import ROOT

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1/11"}}


def test_production_with_a_per_process_cache_is_an_error(settings):
    settings.DEBUG, settings.SINGLE_PROCESS, settings.CACHES, settings.CACHE_SHARED = False, False, LOCMEM, False
    errors = shared_cache_check()
    assert [e.id for e in errors] == ["platform.E001"]
    assert "CACHE_URL=redis://" in errors[0].hint and "SINGLE_PROCESS=true" in errors[0].hint
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        refuse_unsafe_start()


@pytest.mark.parametrize("debug,single,caches", [(True, False, LOCMEM), (False, True, LOCMEM), (False, False, REDIS)])
def test_shared_cache_single_process_or_debug_pass(settings, debug, single, caches):
    # CACHE_SHARED is what settings.py derives from CACHE_URL along with CACHES.
    settings.DEBUG, settings.SINGLE_PROCESS, settings.CACHES = debug, single, caches
    settings.CACHE_SHARED = caches is REDIS
    assert shared_cache_check() == []
    refuse_unsafe_start()


def _run(code_or_args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env.update({"PYTHONPATH": str(ROOT), "DEBUG": "false", "SECRET_KEY": "test-only-secret-key-0123456789-abcdefghij",
                **env_overrides})
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_check_deploy_fails_loudly_without_a_shared_cache():
    result = _run(["manage.py", "check", "--deploy"])
    assert result.returncode != 0 and "platform.E001" in result.stderr, result.stderr
    assert _run(["manage.py", "check", "--deploy", "--fail-level", "ERROR"], SINGLE_PROCESS="true").returncode == 0


def test_the_wsgi_application_refuses_to_start_without_a_shared_cache():
    result = _run(["-c", "import platform.wsgi"])
    assert result.returncode != 0 and "CACHE_URL=redis://" in result.stderr
    assert _run(["-c", "import platform.wsgi"], CACHE_URL="redis://127.0.0.1:6379/11").returncode == 0


@pytest.mark.parametrize(("name", "value"), [("LOG_LEVEL", "loud"), ("ENDPOINTS_RETRY_SCHEDULE", "5,-5")])
def test_a_malformed_setting_stops_the_start_naming_it(name, value):
    result = _run(["manage.py", "check"], SINGLE_PROCESS="true", **{name: value})
    assert result.returncode != 0 and f"{name}={value!r}" in result.stderr, result.stderr


def test_the_log_level_is_read_in_any_case():
    result = _run(["-c", "import django; django.setup(); from django.conf import settings; print(settings.LOG_LEVEL)"],
                  SINGLE_PROCESS="true", LOG_LEVEL="warning", DJANGO_SETTINGS_MODULE="platform.settings")
    assert result.returncode == 0 and result.stdout.strip() == "WARNING", result.stderr


def test_production_serves_what_collectstatic_built_once_there_is_something(tmp_path):
    """Finders would win over STATIC_ROOT and its compressed copies; with nothing collected yet
    they still serve the UI's files rather than pages without CSS."""
    def uses_finders():
        code = "import django; django.setup(); from django.conf import settings; print(settings.WHITENOISE_USE_FINDERS)"
        result = _run(["-c", code], SINGLE_PROCESS="true", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="platform.settings")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert uses_finders() == "True"
    (tmp_path / "staticfiles" / "css").mkdir(parents=True, exist_ok=True)
    (tmp_path / "staticfiles" / "css" / "app.css").write_text("body {}")
    assert uses_finders() == "False"


@pytest.mark.parametrize("key", ["abc", "changeme-changeme-changeme-changeme", "x" * 64,
                                 "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"])
def test_a_guessable_secret_key_stops_a_production_start(key):
    # It signs sessions: whoever knows or guesses it can sign in as anyone.
    result = _run(["manage.py", "check"], SINGLE_PROCESS="true", SECRET_KEY=key)
    assert result.returncode != 0 and "SECRET_KEY is too easy to guess" in result.stderr, result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_a_random_secret_key_starts_and_debug_takes_any():
    assert _run(["manage.py", "check"], SINGLE_PROCESS="true", SECRET_KEY="kQ3v9-Zt_p1RwYx8LmN2bC7dHs0Ue4Fa").returncode == 0
    assert _run(["manage.py", "check"], SINGLE_PROCESS="true", SECRET_KEY="abc", DEBUG="true").returncode == 0


def test_a_key_prefix_with_a_colon_is_refused():
    # "prod" would clear "prod:eu"'s keys too: Django puts a colon after the prefix.
    result = _run(["-c", "import django; django.setup()"], CACHE_URL="redis://127.0.0.1:6379/11",
                  CACHE_KEY_PREFIX="prod:eu", DJANGO_SETTINGS_MODULE="platform.settings")
    assert result.returncode != 0 and "CACHE_KEY_PREFIX='prod:eu': leave out the colon" in result.stderr, result.stderr


def test_installations_sharing_a_cache_database_keep_apart_by_their_key_prefix():
    # The callback path's reads and counts (device lookups, the rate counter) go through the prefix too.
    code = ("import django, sys; django.setup(); from django.core.cache import cache; "
            "sys.argv[1:] and cache.set('platform:prefix-test', sys.argv[1], 30); "
            "print(cache.get_many_and_count(['platform:prefix-test'], 'platform:prefix-count', 30))")

    def run(prefix, *args):
        result = _run(["-c", code, *args], CACHE_URL="redis://127.0.0.1:6379/11", CACHE_KEY_PREFIX=prefix,
                      DJANGO_SETTINGS_MODULE="platform.settings")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    try:
        assert run("staging", "from-staging") == "({'platform:prefix-test': 'from-staging'}, 1)"
        assert run("production") == "({}, 1)"  # neither staging's value nor its count
        assert run("staging") == "({'platform:prefix-test': 'from-staging'}, 2)"
    finally:
        server = redis.Redis.from_url("redis://127.0.0.1:6379/11")
        server.delete(*server.keys("*platform:prefix-*") or ["none"])
