"""gunicorn's access log without secrets (platform/logfilters.py says which):
`gunicorn --logger-class platform.gunicorn_logging.RedactingLogger`."""
from gunicorn.glogging import Logger

from platform.logfilters import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom: the request line, path and query, but also the `{raw_uri}e`-style environ ones.
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
