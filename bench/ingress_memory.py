"""The ingress's memory under 1024 held requests, round after round, and its 503s past the cap.

Starts a system of its own on free ports with `INGRESS_MAX_IN_FLIGHT` equal to the
concurrency. Each round holds that many authorizations of a driver who never answers
(manual acceptance: each request is held until `PAYMENT_HOLD_TIMEOUT`, then answered
`pending`), and once the ingress holds them all sends more requests, which the cap
must refuse at once (503 `unavailable`). The ingress process's RSS is sampled
throughout: before the round, its peak while the requests are held, and after they
are answered. Memory that levels off shows as the same peak and the same "after"
round after round.

    .venv/bin/python -m bench.ingress_memory [--concurrency 1024] [--rounds 4] [--extra 256]
        [--ramp-s 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped, unused-ignore]

from launcher.stack import LocalStack, StackConfig

PARTNER_KEY = "bench-memory-key"
HOLD_S = 8.0
BOOT_WITHIN_S = 180.0
SAMPLE_EVERY_S = 0.2
MIB = 1024 * 1024


@dataclass(frozen=True)
class Round:
    number: int
    rss_before: float
    rss_peak: float
    rss_after: float
    in_flight: float  # held by the ingress when the extra requests were sent
    held_statuses: Counter[str]
    held_max_s: float
    extra_statuses: Counter[str]
    extra_p50_ms: float
    extra_max_ms: float


def _rss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / MIB


async def _in_flight(client: httpx.AsyncClient, internal_url: str) -> float:
    metrics = (await client.get(f"{internal_url}/metrics")).text
    for line in metrics.splitlines():
        if line.startswith("http_requests_in_flight "):
            return float(line.split()[1])
    return 0.0


async def _sample(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak.append(_rss_mib(pid))
        await asyncio.sleep(SAMPLE_EVERY_S)


class Bench:
    def __init__(self, stack: LocalStack, concurrency: int, extra: int, ramp_s: float) -> None:
        self.stack = stack
        self.concurrency = concurrency
        self.extra = extra
        self.ramp_s = ramp_s
        self.qr_code = f"qr-{uuid.uuid4().hex}"
        self.client = httpx.AsyncClient(timeout=10)  # the sandbox and /metrics only

    async def driver(self) -> None:
        answer = await self.client.post(
            f"{self.stack.sandbox_url}/_sandbox/drivers",
            json={
                "park_id": "park-bench",
                "driver_profile_id": f"d-{uuid.uuid4().hex[:10]}",
                "balance": 10**12,
                "currency": "RUB",
                "qr_code": self.qr_code,
                "acceptance": "manual",  # never answered here: each payment is held
            },
        )
        answer.raise_for_status()

    async def authorize(self) -> tuple[str, float]:
        """One authorization on a connection of its own: (status and error, seconds)."""
        body = json.dumps(
            {
                "transaction_id": random.randint(10**9, 2**62),
                "qr_code": self.qr_code,
                "amount": 15050,
                "currency": "RUB",
                "merchant": {"id": "m-bench", "name": "Bench shop"},
            }
        ).encode()
        url = httpx.URL(self.stack.ingress_urls[0])
        request = (
            f"POST /mobi/v1/payments HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Authorization: Bearer {PARTNER_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        started = time.monotonic()
        # Plain sockets, not an HTTP client's pool: with a thousand connections a pool's
        # own bookkeeping would be what the figures measure.
        try:
            async with asyncio.timeout(HOLD_S + 30):
                reader, writer = await asyncio.open_connection(url.host, url.port)
                try:
                    writer.write(request)
                    response = await reader.read()  # the server closes after answering
                finally:
                    writer.close()
            head, _, answer = response.partition(b"\r\n\r\n")
            status = head.split(maxsplit=2)[1].decode()
            if status != "200":  # which refusal: the error body's code and message
                error = json.loads(answer)
                status += f" {error.get('code')} ({error.get('message')})"
        except (OSError, TimeoutError, IndexError, ValueError):
            status = "cut"  # refused, cut or timed out
        return status, time.monotonic() - started

    async def round(self, number: int) -> Round:
        pid = self.stack.pids["ingress-1"]
        internal = self.stack.internal_urls[0]
        rss_before = _rss_mib(pid)
        samples: list[float] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample(pid, samples, stop))
        held = []
        for _ in range(self.concurrency):  # opened over the ramp, held together after it
            held.append(asyncio.create_task(self.authorize()))
            await asyncio.sleep(self.ramp_s / self.concurrency)
        deadline = time.monotonic() + HOLD_S
        # Past the cap only while the ingress holds them all (a held one refused early,
        # say by a broker slower than KAFKA_SEND_TIMEOUT_S, leaves room: then the figure
        # printed as "in flight" is below the cap and some of the extra get in).
        in_flight = await _in_flight(self.client, internal)
        while in_flight < self.concurrency and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            in_flight = await _in_flight(self.client, internal)
        extra = await asyncio.gather(*(self.authorize() for _ in range(self.extra)))
        held_answers = await asyncio.gather(*held)
        await asyncio.sleep(1.0)  # let the ingress settle after the answers
        stop.set()
        await sampler
        extra_ms = sorted(elapsed * 1000 for _, elapsed in extra)
        return Round(
            number=number,
            rss_before=rss_before,
            rss_peak=max(samples, default=rss_before),
            rss_after=_rss_mib(pid),
            in_flight=in_flight,
            held_statuses=Counter(status for status, _ in held_answers),
            held_max_s=max(elapsed for _, elapsed in held_answers),
            extra_statuses=Counter(status for status, _ in extra),
            extra_p50_ms=statistics.median(extra_ms) if extra_ms else 0.0,
            extra_max_ms=extra_ms[-1] if extra_ms else 0.0,
        )


def _start(run_dir: Path, concurrency: int, log: Path) -> LocalStack:
    config = StackConfig.for_tests(
        run_dir,
        extra_env={
            "PARTNER_KEYS": f"mobi={PARTNER_KEY}",
            "INGRESS_MAX_IN_FLIGHT": str(concurrency),
            "PAYMENT_HOLD_TIMEOUT": str(HOLD_S),
            "PAYMENT_ACCEPTANCE_TIMEOUT": "600",
            "LOG_LEVEL": "WARNING",
        },
        output=log.open("a", buffering=1),
    )
    stack = LocalStack(config).start(BOOT_WITHIN_S)
    stack.wait_until_healthy(BOOT_WITHIN_S)
    return stack


async def _run(stack: LocalStack, args: argparse.Namespace) -> None:
    concurrency, extra = args.concurrency, args.extra
    bench = Bench(stack, concurrency, extra, args.ramp_s)
    try:
        await bench.driver()
        print(
            f"ingress memory: {concurrency} held authorizations per round "
            f"(INGRESS_MAX_IN_FLIGHT={concurrency}, PAYMENT_HOLD_TIMEOUT={HOLD_S:g} s), "
            f"opened over {args.ramp_s:g} s, {extra} more past the cap; nproc {os.cpu_count()}, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        print(f"ingress RSS at rest: {_rss_mib(stack.pids['ingress-1']):.1f} MiB")
        for number in range(1, args.rounds + 1):
            result = await bench.round(number)
            print(
                f"round {result.number}: RSS before {result.rss_before:.1f} MiB, "
                f"peak {result.rss_peak:.1f}, after {result.rss_after:.1f}; "
                f"held {dict(result.held_statuses)} (longest {result.held_max_s:.1f} s); "
                f"sent with {result.in_flight:.0f} in flight: {dict(result.extra_statuses)} "
                f"(p50 {result.extra_p50_ms:.0f} ms, max {result.extra_max_ms:.0f} ms)"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        await bench.client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--extra", type=int, default=256, help="requests sent past the cap")
    # 0 opens them all at once: a burst the broker takes more than KAFKA_SEND_TIMEOUT_S to
    # acknowledge on a busy machine, answered 503 by design.
    parser.add_argument("--ramp-s", type=float, default=2.0, help="seconds to open the held")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingress-memory-") as scratch:
        run_dir = Path(scratch)
        log = run_dir / "system.log"
        stack = _start(run_dir / "run", args.concurrency, log)
        try:
            asyncio.run(_run(stack, args))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
