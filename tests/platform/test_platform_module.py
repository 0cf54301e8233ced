"""Our `platform` package stands in for the standard-library module of the same name."""
import os
import subprocess
import sys
import uuid

import platform
from tests.stack import ROOT


def test_stdlib_functions_still_work():
    assert platform.system() == "Linux"
    assert platform.python_version().startswith("3.")
    assert uuid.uuid4().version == 4


def test_is_the_project_package():
    assert platform.__file__.endswith(os.path.join("platform", "__init__.py"))


def _celery_report(*cmd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*cmd, "-A", "platform", "report"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False, timeout=60)


def test_celery_console_script_loads_the_app():
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    result = _celery_report(celery)
    assert result.returncode == 0, result.stderr
    assert "platform.celery" in result.stdout or "platform" in result.stdout


def test_celery_module_form_loads_the_app():
    result = _celery_report(sys.executable, "-m", "celery")
    assert result.returncode == 0, result.stderr
