"""moto server with DynamoDB writes made atomic (eventsapi.local.atomic): what `eventsapi run` starts.
It exits when the process that started it is gone, however that one ended (even killed outright)."""

import os
import signal
import sys
import threading
import time

from moto import server

from eventsapi.local.atomic import make_dynamodb_writes_atomic
from eventsapi.local.wiring import EMULATOR_PARENT_ENV


def exit_with_parent() -> None:
    """The starter names itself in EMULATOR_PARENT_ENV (read here, after moto's slow import, getppid() could
    already be whoever adopted us)."""
    named = os.environ.get(EMULATOR_PARENT_ENV)
    parent = int(named) if named and named.isdigit() else os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the runtime stops us after its pollers, so none of
    # them meets a dead emulator on the way out (and we exit with it anyway).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    make_dynamodb_writes_atomic()
    server.main(sys.argv[1:])
