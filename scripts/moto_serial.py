"""moto's server with one request at a time.

DynamoDB runs transactions in isolation. moto 5.2.5 does not: a failed TransactWriteItems
restores a copy of the whole table taken when it began, silently undoing writes that other
threads committed meanwhile. Serialising requests gives the adapters' concurrency tests the
isolation real DynamoDB guarantees; concurrent clients still race for the same items, their
requests are just applied one after another.

    python moto_serial.py PORT
"""

import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
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
