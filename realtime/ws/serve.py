"""One `ws` process on a port its siblings share: `python -m realtime.ws.serve` (the Procfile's `ws`).

Several ws processes behind one port with `SO_REUSEPORT`: each process binds its own listening
socket to the same host and port with that option set, and the kernel spreads new connections over
the listeners by a hash of the connection's addresses. So `honcho start -c ws=2` (or two copies
started by any supervisor) serves one port from two independent processes, with no proxy in front.

Why this and not a proxy (haproxy, nginx) in front: a proxy on the same box copies every byte of
every frame through one more process -- a read and a write per socket per frame, the very cost the
hub's fast path saved (realtime/ws/wire.py) -- and needs its own package and config. And why not
`uvicorn --workers N`: those workers accept from one shared socket, and whichever process wakes
first takes the connection, so a burst of connects can pile up on one worker; reuse-port listeners
have one accept queue each and the kernel balances them. A process that exits takes its listener
out of the group; its clients reconnect (with `?last_seq=`) and land on a live one.

Every process runs its own hub (realtime/ws/hub.py), which joins each stream's channel-layer group
once, so every process receives every frame of the streams its sockets watch; presence counts are
summed across processes in Redis (realtime/shows/presence.py). No state is shared in memory, so
nothing needs a sticky session.

Options as uvicorn's, with the Procfile's defaults: websockets-sansio protocol (the fast path
needs it), per-message deflate off (a compressed frame would differ per socket), no access log.
"""

import argparse
import os
import socket
from collections.abc import Sequence

APP = "config.asgi:application"


def reuse_port_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    """A listening TCP socket on host:port that other processes may bind too (`SO_REUSEPORT`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m realtime.ws.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("WS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WS_PORT", "8001")))
    parser.add_argument("--backlog", type=int, default=4096, help="accept queue of this process's listener")
    parser.add_argument("--log-level", default=os.environ.get("WS_LOG_LEVEL", "info"))
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the event loop's thread; stats to FILE at exit"
    )
    parser.add_argument(
        "--profile-clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="the profiler's clock: the loop thread's CPU time (default; on a shared box wall time "
        "charges other processes' turns on the cores to whatever was running) or wall time",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    config = uvicorn.Config(
        APP,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        access_log=False,
        lifespan="on",
        log_level=args.log_level,
        backlog=args.backlog,
    )
    # Import the app (Django set-up: seconds on a busy box) before listening: a listener takes
    # connections into its queue at once, and the kernel would hand this process its share of
    # them while it cannot answer yet.
    config.load()
    sock = reuse_port_socket(args.host, args.port, args.backlog)
    if args.profile:
        config.timeout_graceful_shutdown = 3  # the stats are written after the server stops
    server = uvicorn.Server(config)
    if not args.profile:
        server.run(sockets=[sock])
        return
    import cProfile
    import signal
    import sys

    # uvicorn re-raises the stop signal once it has shut down; exit through `finally` instead.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    # The loop's thread only: that is where the fan-out runs (database calls go to executor threads).
    import time

    profiler = cProfile.Profile(time.thread_time) if args.profile_clock == "cpu" else cProfile.Profile()
    profiler.enable()
    try:
        server.run(sockets=[sock])
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
