"""moto's server with one request at a time.

DynamoDB runs transactions in isolation. moto 5.2.5 does not: a failed TransactWriteItems
restores a copy of the whole table taken when it began, silently undoing writes that other
threads committed meanwhile. Serialising requests gives the adapters' concurrency tests the
isolation real DynamoDB guarantees; concurrent clients still race for the same items, their
requests are just applied one after another.

moto's TransactWriteItems also deep-copies the whole table (stream records included) once per
item of the transaction, for the rollback: a ten-item write copies the table ten times, and
the copies grow with every record the table's stream ever saw. That made it most of the test
suite's time, so transactions here copy each table once and share its stream, cut back to its
earlier length when the transaction is rolled back. What a transaction does is unchanged.

    python moto_serial.py PORT
"""

import copy
import sys
import threading
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def copy_each_table_once(transact):
    """Wraps DynamoDBBackend.transact_write_items (requests are serial, so the swap is safe)."""

    def transact_write_items(self, transact_items):
        names = {op.get("TableName") for item in transact_items for op in item.values()}
        shards = [
            (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if name in names and table.stream_shard is not None
        ]
        copies = {}

        def deepcopy(obj, memo=None):
            if not isinstance(obj, Table):
                return copy.deepcopy(obj, memo)
            if id(obj) not in copies:
                shared = {} if obj.stream_shard is None else {id(obj.stream_shard): obj.stream_shard}
                copies[id(obj)] = copy.deepcopy(obj, shared)
            return copies[id(obj)]

        dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy)
        try:
            return transact(self, transact_items)
        except Exception:
            # Every error out of moto's transaction means it restored the tables (or wrote
            # nothing): drop the stream records its partial writes appended.
            for shard, length in shards:
                del shard.items[length:]
            raise
        finally:
            dynamodb_models.copy = copy

    return transact_write_items


def main() -> None:
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = copy_each_table_once(backend.transact_write_items)

    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # Drain the response under the lock too: moto builds it while iterating.
            return list(app(environ, start_response))

    run_simple("127.0.0.1", port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
