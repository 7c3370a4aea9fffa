#!/usr/bin/env python3
"""Serve moto (the AWS emulator) on loopback from a single-threaded WSGI server.

Why not `moto_server`: moto's own server runs werkzeug with ``threaded=True``, so two
concurrent DynamoDB requests can interleave inside moto's backend and a conditional
write (``attribute_not_exists(pk)``) can succeed for more than one writer.  The
presence-sync function relies on conditional writes for leases and de-duplication, so
the tests need them to be atomic.  This server handles exactly one request at a time
(HTTP/1.0, one request per connection, so an idle client cannot block the others).

Protocol with the test harness (tests/src/moto.rs):
  * ``--port 0`` binds a free port; the harness reads the single line
    ``MOTO_READY http://127.0.0.1:<port>`` from stdout once the socket listens.
  * ``--watch-stdin``: exit when stdin reaches EOF, i.e. when the parent process
    (the test binary) is gone, even if it was killed without running destructors.
  * SIGTERM / SIGINT: close the socket and exit with status 0.

State is in memory only: a restart starts from an empty account.

Lambda runs without Docker: moto's ``{"lambda": {"use_docker": false}}`` configuration is set
in-process before serving, so an ``Invoke`` never starts a container; it answers at once
(``InvocationType=Event``: 202; ``RequestResponse``: 200 echoing the payload, or the next
result queued at ``/moto-api/static/lambda-simple/response``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from moto.core.config import default_user_config
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer


class QuietHandler(MotoRequestHandler):
    """One request per connection; request lines only logged with --verbose."""

    # A non-threaded server must not keep idle connections open: with HTTP/1.1
    # keep-alive a pooled client connection would monopolise the only thread.
    protocol_version = "HTTP/1.0"
    # A client that connects and then stalls must not block the server forever.
    timeout = 30
    verbose = False

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.verbose:
            super().log_request(code, size)


class SerialServer(BaseWSGIServer):
    """werkzeug's base server: no threads, no forks; requests are served in order."""

    multithread = False
    multiprocess = False
    request_queue_size = 1024


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--watch-stdin",
        action="store_true",
        help="exit when stdin is closed (the parent process ended)",
    )
    return parser.parse_args(argv)


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(0)


def _watch_stdin() -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    # The parent is gone: leave without waiting for the serving loop.
    os._exit(0)


def _event_bus_name(_backend: Any, event_bus_arn: str | None) -> str:
    """An ``EventBusName`` parameter (a name or an ARN) as the bus's name.

    EventBridge accepts the name or the ARN of the bus, and a partner event bus is named after
    its partner event source, ``aws.partner/<partner>/<...>``, slashes included (EventBridge
    API reference, CreateEventBus ``Name``/``EventSourceName``). moto 5 keeps only what
    follows the last ``/``, so a rule on a partner bus (``PutRule``/``PutTargets``/
    ``ListRules``... with ``EventBusName=aws.partner/...``) is looked up on a bus that does
    not exist. Same answer as moto's for every other name and ARN.
    """
    if event_bus_arn is None:
        return "default"
    marker = ":event-bus/"
    if event_bus_arn.startswith("arn:") and marker in event_bus_arn:
        return event_bus_arn.split(marker, 1)[1]
    return event_bus_arn


def configure_moto() -> None:
    """Lambda without Docker (moto's simple Lambda backend): the tests have no Docker, and a
    function's code is never run by moto (the tests run the built binary themselves). And
    rules on a partner event bus (see ``_event_bus_name``)."""
    default_user_config.setdefault("lambda", {})["use_docker"] = False
    from moto.events.models import EventsBackend

    EventsBackend._normalize_event_bus_arn = _event_bus_name  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure_moto()

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    QuietHandler.verbose = args.verbose

    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)

    app = DomainDispatcherApplication(create_backend_app)
    try:
        server = SerialServer(args.host, args.port, app, handler=QuietHandler)
    except OSError as err:
        print(f"moto_server: cannot bind {args.host}:{args.port}: {err}", file=sys.stderr, flush=True)
        return 98

    port = server.socket.getsockname()[1]
    # moto builds some URLs (e.g. SQS queue URLs) from MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(port))

    if args.watch_stdin:
        threading.Thread(target=_watch_stdin, name="watch-stdin", daemon=True).start()

    print(f"MOTO_READY http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
