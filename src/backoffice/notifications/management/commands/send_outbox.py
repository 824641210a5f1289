"""Send the queued registration emails: one pass, or a loop for a worker process."""

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from backoffice.notifications.services import outbox_send_due, worker_tasks_run

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send due registration emails from the outbox. With --loop, keep polling "
        "(every 2 s by default) and run the housekeeping tasks the apps register (such as wiping "
        "the display copies of expired registration codes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running until stopped (SIGTERM or Ctrl-C)")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes with --loop")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            run = outbox_send_due()
            done = worker_tasks_run()
            self.stdout.write(
                f"Sent {run.sent}, retrying {run.retrying}, failed {run.failed}, "
                f"not sent (no longer valid) {run.obsolete}; housekeeping: {'; '.join(map(str, done)) or 'none'}."
            )
            return
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        logger.info("outbox: worker started, polling every %.1f s", options["interval"])
        try:
            while not stopping:
                close_old_connections()
                try:
                    outbox_send_due()
                    worker_tasks_run()
                except Exception:
                    # A database hiccup must not end the worker; the next pass retries.
                    logger.exception("outbox: pass failed")
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        logger.info("outbox: worker stopped")
