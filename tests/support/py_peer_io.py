"""What every Python test peer (py_echo_server.py, py_deflate_server.py) does
with its parent: JSON lines on stdout, and an exit when stdin reaches end of
file (the parent closed it or died), so a peer never outlives its test."""

import json
import sys
import threading


def emit(obj):
    """Writes one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _wait_for_stdin_eof(loop, stop):
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))


def stop_on_stdin_eof(loop):
    """A future of `loop` that completes once stdin reaches end of file."""
    stop = loop.create_future()
    threading.Thread(target=_wait_for_stdin_eof, args=(loop, stop), daemon=True).start()
    return stop
