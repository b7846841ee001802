"""A stand-in for ingress / worker / sandbox in the launcher's tests.

Listens on the port named by the environment variable given as first argument and
answers GET /health with 200; prints a JSON line with what it was given.
Options: --ignore-term (SIGTERM does nothing), --exit-after SECONDS, --fork (leave a
grandchild running in the same process group). SIGUSR1 / SIGUSR2 (the ingress's
"broker lost" / "broker replaced") are printed as JSON lines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/health" else 404
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _print_signal(signum: int, _frame: object) -> None:
    told = {"event": "dummy signalled", "signal": signal.Signals(signum).name}
    print(json.dumps({**told, "pid": os.getpid()}), flush=True)


def main() -> None:
    args = sys.argv[1:]
    port_env = args[0] if args and not args[0].startswith("--") else None
    if "--ignore-term" in args:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for told in (signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(told, _print_signal)
    if "--fork" in args:
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    keys = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PARTNER_KEYS", "METERS_ROLLOUT")
    print(
        json.dumps(
            {
                "event": "dummy started",
                "pid": os.getpid(),
                **{key.lower(): os.environ.get(key) for key in keys},
            }
        ),
        flush=True,
    )
    print("a line on stderr", file=sys.stderr, flush=True)
    if "--exit-after" in args:
        delay = float(args[args.index("--exit-after") + 1])
        threading.Timer(delay, lambda: os._exit(3)).start()
    if port_env is None:
        signal.pause()
        return
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ[port_env])), Health)
    server.serve_forever()


if __name__ == "__main__":
    main()
