"""``attnviz serve --workers 2 --port 8501``: N app processes behind nginx (the cluster is ``attnviz.serve``)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from attnviz.serve import Cluster, ServeError


def add_parser(commands) -> None:
    cmd = commands.add_parser("serve", help="serve the app for a class: N processes behind nginx")
    cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="app processes, one model copy each (default: one per CPU)")
    cmd.add_argument("--port", type=int, default=8501, help="port nginx listens on (default 8501)")
    cmd.add_argument("--address", default="0.0.0.0",
                     help="address nginx listens on (default 0.0.0.0: a shared server; 127.0.0.1: this machine)")
    cmd.add_argument("--dir", type=Path, help="folder for nginx's configuration, logs and temp files "
                                              "(default: a new temporary folder)")
    cmd.set_defaults(run=run)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def run(args) -> int:
    cluster = Cluster(workers=args.workers, port=args.port, address=args.address, prefix=args.dir)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `docker stop` and `kill` stop them as Ctrl-C does
    try:
        cluster.start()
        cluster.supervise()
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0
