"""The Django project package, which also stands in for the standard-library ``platform``.

Our package name shadows the stdlib module that ``uuid``, Celery and others import, so this file
loads the real one from the standard library's directory and re-exports its names: ``import
platform`` keeps working everywhere. The Celery app is *not* imported here (the usual Django
recipe): ``uuid`` imports ``platform`` while Celery imports ``uuid``, a circular import.
"""
import importlib.util as _util
import sysconfig as _sysconfig

_spec = _util.spec_from_file_location("_stdlib_platform", _sysconfig.get_path("stdlib") + "/platform.py")
assert _spec is not None and _spec.loader is not None  # a path to an existing .py file gives both
_stdlib = _util.module_from_spec(_spec)
_spec.loader.exec_module(_stdlib)
globals().update({k: v for k, v in vars(_stdlib).items() if not k.startswith("__")})
