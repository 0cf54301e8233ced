"""A real SMTP server for tests (aiosmtpd on a free local port), keeping what it is sent."""
import pytest

from tests.stack import free_port


class Inbox:
    """An aiosmtpd handler that keeps what it is sent."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    """A running server; the fixture's value is its Inbox, with the server's `port`."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    inbox.port = server.port
    yield inbox
    server.stop()
