"""Serve any simulator over real HTTP on loopback, in a background thread (sandbox and tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import msgspec
import uvicorn
from litestar import Litestar

__all__ = ["RunningSimulator", "serve_simulator"]


class RunningSimulator(msgspec.Struct, frozen=True):
    """A simulator listening on 127.0.0.1: its base URL and how to stop it."""

    base_url: str
    stop: Callable[[], None]


def serve_simulator(app: Litestar, *, startup_timeout_s: float = 10.0) -> RunningSimulator:
    """Run ``app`` with uvicorn on a free loopback port; returns once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"simulator:{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"simulator on port {port} did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=startup_timeout_s)
        sock.close()

    return RunningSimulator(base_url=f"http://127.0.0.1:{port}", stop=stop)
