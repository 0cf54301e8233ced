"""Secrets out of the logs. Two credentials travel in URLs: a cloud application's downlink URL
(`/iot-flow/downlinkMessages/<secret>`: the URL is the credential) and a device token in
`?authorization=`. Django logs the path of every 4xx/5xx ("Not Found: /iot-flow/...") and
the web server's access log the request line, so both are rewritten before any handler sees them."""
import logging
import re

_SECRETS = [
    (re.compile(r"(/iot-flow/downlinkMessages/)[^/?#\s'\"]+"), r"\1<secret>"),
    (re.compile(r"((?:^|[?&])authorization=)[^&#\s'\"]+", re.IGNORECASE), r"\1<token>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class AccessLogQuery(logging.Filter):
    """The web server's access line names the path without its query string (gunicorn's request
    line had both): it goes back on the path, ahead of RedactSecrets, which masks a token in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and args.get("query_string") and isinstance(args.get("path"), str):
            record.args = {**args, "path": f"{args['path']}?{args['query_string']}"}
        return True


class RedactSecrets(logging.Filter):
    """Rewrites the message and its string arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


class ClientErrorsBrief(logging.Filter):
    """A 4xx is the client's mistake (often a scanner's: a Host not in ALLOWED_HOSTS, an admin page
    without the right): one WARNING line, without the traceback Django attaches, so that alerts on
    ERROR lines mean the server's own trouble. 5xx records pass as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info, record.exc_text = None, None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
