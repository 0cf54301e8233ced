"""Runs web (Granian, platform/webserver.py), the Celery workers (storage, deliveries) and Celery beat together in the
foreground; Ctrl-C stops them all. This is the README's run command; production runs the same
roles separately."""
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from platform.broker import embedded_broker_prune, embedded_queues_declare
from platform.lan import default_site_url, served_site_url_file
from platform.webserver import web_command


def stack_commands(bind, web_workers=2):
    python = sys.executable
    # The terminal is for warnings and errors (and the banner above them): at INFO, beat's redrive
    # every 10 s and every task's received/succeeded lines scroll it away. LOG_LEVEL=INFO shows them.
    level = os.environ.get("LOG_LEVEL", "WARNING")

    def celery(name, *args):
        # A worker or beat that dies on its own is restarted (platform/supervise.py says why);
        # the web server's main process already restarts its own workers. -q: no banner.
        return [python, "-m", "platform.supervise", name, "--", python, "-m", "celery", "-q", "-A", "platform",
                *args, "--loglevel", level]

    # `python -m` puts the project first on sys.path, so our `platform` package wins over the
    # standard-library module of that name in every process.
    return {
        "web": web_command(bind, web_workers),
        # Storage and deliveries in worker processes of their own: a delivery sender runs for up
        # to DELIVERY_SENDER_SECONDS and must never keep the inbox waiting.
        "worker": celery("worker", "worker", "-n", "worker@%h", "-Q", "ingest,maintenance", "--concurrency", "1"),
        "sender": celery("sender", "worker", "-n", "sender@%h", "-Q", "deliveries", "--concurrency", "1"),
        "beat": celery("beat", "beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME),
    }


class Command(BaseCommand):
    help = "Runs web, worker and beat in the foreground until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=settings.BIND)

    def handle(self, *args, bind, **options):
        if settings.CELERY_BROKER_URL.startswith("sqla+sqlite"):
            embedded_broker_prune(settings.EMBEDDED_BROKER_PATH)
            embedded_queues_declare()
        site_url = settings.SITE_URL if bind == settings.BIND else default_site_url(bind)
        served_site_url_file(settings.VAR_DIR).write_text(site_url + "\n")
        # Each role in a process group of its own: Ctrl-C reaches this command alone, which stops each
        # role through its main process (a Celery worker then stops its pool itself, where a signal
        # to every process at once killed its children under it), and what is still running after
        # the grace period is killed with its whole group, so nothing is left behind.
        processes = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, start_new_session=True)
                     for name, cmd in stack_commands(bind).items()}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in processes.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping the rest.")
                        stopping = True
                time.sleep(0.5)
        finally:
            stack_stop(processes.values())
            self.stdout.write("Stopped web, workers and beat.")


def stack_stop(processes, grace=10.0):
    """SIGTERM to each role's main process; after `grace` seconds, SIGKILL to every process left in
    its group (a worker's pool child, a role that would not stop)."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the group is gone: every process in it has exited
            pass
        proc.wait()
