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

DynamoDB's Scan returns items in an unsorted (hash) order, with DynamoDB's documented paging
(``_hash_order_scan``), so that tests see the state table's item kinds interleaved as in AWS.

Lambda runs without Docker: moto's ``{"lambda": {"use_docker": false}}`` configuration is set
in-process before serving, so an ``Invoke`` never starts a container; it answers at once
(``InvocationType=Event``: 202; ``RequestResponse``: 200 echoing the payload, or the next
result queued at ``/moto-api/static/lambda-simple/response``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import logging
import os
import signal
import sys
import threading
from typing import Any, Callable

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


def _scan_position(hash_key: Any, range_key: Any) -> tuple[bytes, str, Any]:
    """Where an item (or any key) sits in a Scan: the MD5 of its partition key's type and
    value, as DynamoDB spreads partition keys over its partitions by a hash; then the key
    itself (for the rare equal hashes), then the sort key, in order within one partition."""
    digest = hashlib.md5(f"{hash_key.type}:{hash_key.value}".encode()).digest()
    return (digest, str(hash_key.value), () if range_key is None else (range_key,))


def _hash_order_scan(original: Callable[..., Any]) -> Callable[..., Any]:
    """A table's ``Scan`` in DynamoDB's order and with its documented paging.

    The DynamoDB Developer Guide ("Scanning tables in DynamoDB"): "Scan returns partition keys
    in an unsorted order": the order is the one the table stores them in internally, and only
    within one partition key are items in sort key order. moto 5 sorts the items by key, which puts every
    ``user#`` item of the state table together, ahead of the ``teams-id#`` and
    ``teams-owner#`` items; DynamoDB interleaves them. Here items are read in the order of an
    MD5 of their partition key (stable, unsorted), and ``ExclusiveStartKey`` continues in that
    same order after any key, an item's or not.

    The API reference (Scan): "A single Scan operation first reads up to the maximum number of
    items set (if using the Limit parameter) or a maximum of 1 MB of data and then applies any
    filtering to the results if a FilterExpression is provided." And ``Limit``: "If DynamoDB
    processes the number of items up to the limit while processing the results, it stops the
    operation and returns the matching values up to that point, and a key in LastEvaluatedKey
    to apply in a subsequent operation". So a page cut by ``Limit`` carries
    ``LastEvaluatedKey`` even when none of its items matched the filter, and even when nothing
    follows ("If LastEvaluatedKey is not empty, it does not necessarily mean that there is more
    data in the result set"); moto returns it only when another item follows.

    Scans of an index, parallel scans and the legacy ``ScanFilter`` keep moto's behaviour (the
    project uses none of them).
    """

    def scan(
        self: Any,
        filters: dict[str, Any],
        limit: int | None,
        exclusive_start_key: dict[str, Any] | None,
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: Any = None,
        segments: tuple[Any, Any] = (None, None),
    ) -> tuple[list[Any], int, dict[str, Any] | None]:
        if index_name or filters or segments != (None, None):
            return original(
                self, filters, limit, exclusive_start_key, filter_expression, index_name,
                consistent_read, projection_expression, segments,
            )
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

        def position(item: Any) -> tuple[bytes, str, Any]:
            return _scan_position(item.hash_key, item.range_key)

        items = sorted(self.all_items(), key=position)
        if exclusive_start_key is not None:
            start_range = exclusive_start_key.get(self.range_key_attr) if self.range_key_attr else None
            start = _scan_position(
                DynamoType(exclusive_start_key[self.hash_key_attr]),
                None if start_range is None else DynamoType(start_range),
            )
            items = [item for item in items if position(item) > start]
        read: list[Any] = []
        size = 0
        stopped = False
        for item in items:
            if limit is not None and len(read) == limit:
                stopped = True
                break
            if read and size + item.size() > RESULT_SIZE_LIMIT:
                stopped = True
                break
            read.append(item)
            size += item.size()
        stopped = stopped or (limit is not None and len(read) == limit)
        last_evaluated_key = self._get_last_evaluated_key(read[-1], None) if stopped and read else None
        results = [copy.deepcopy(item) for item in read]
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expression:
            results = [item.project(projection_expression) for item in results]
        return results, len(read), last_evaluated_key

    return scan


def configure_moto() -> None:
    """Lambda without Docker (moto's simple Lambda backend): the tests have no Docker, and a
    function's code is never run by moto (the tests run the built binary themselves). Rules
    on a partner event bus (see ``_event_bus_name``). And a DynamoDB Scan in an unsorted order
    with DynamoDB's paging (see ``_hash_order_scan``)."""
    default_user_config.setdefault("lambda", {})["use_docker"] = False
    from moto.dynamodb.models.table import Table
    from moto.events.models import EventsBackend

    EventsBackend._normalize_event_bus_arn = _event_bus_name  # type: ignore[method-assign]
    Table.scan = _hash_order_scan(Table.scan)  # type: ignore[method-assign]


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
