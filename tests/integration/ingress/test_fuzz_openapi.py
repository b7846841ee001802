"""Fuzzing both listeners of a real ingress from their own OpenAPI documents (schemathesis).

Valid and invalid requests (wrong types, out-of-range numbers, missing and unknown
fields, NUL and other control characters in strings and headers) with the partner's
and a service's keys, so the authenticated paths are reached. The contract's rule:
no input, however malformed, yields a 5xx other than 503. A fixed seed keeps a run
repeatable; the figures of a run are printed (pytest -s shows them).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok

from tests.integration.conftest import SERVICE_HEADERS, RunningStack

SEED = 20261130
EXAMPLES_PER_MODE = 80
PARTNER_HEADERS = {"Authorization": "Bearer test-mobi-key"}
# Valid requests carry the identity the driver gateway would set, so they reach the
# route; invalid ones keep whatever identity headers the fuzzer made.
DRIVER_HEADERS = {"X-YaTaxi-Park-Id": "p-fuzz", "X-YaTaxi-Driver-Profile-Id": "d-fuzz"}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def _fuzz_listener(
    name: str,
    base_url: str,
    headers: dict[GenerationMode, dict[str, str]],
    session: requests.Session,
) -> tuple[Counter[str], list[str]]:
    """(requests by operation and status class, the answers that broke the rule)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    schema.config.generation.update(allow_x00=True, codec="utf-8")
    seen: Counter[str] = Counter()
    broken: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # our own documents are valid
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            call = _fuzzer(
                f"{name} {operation.label}",
                operation.as_strategy(generation_mode=mode),
                seen,
                broken,
            )
            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid
                call(base_url, headers[mode], session)
    return seen, broken


def _fuzzer(
    label: str, strategy: st.SearchStrategy[Case[Any]], seen: Counter[str], broken: list[str]
) -> Callable[[str, dict[str, str], requests.Session], None]:
    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(
        base_url: str, auth: dict[str, str], session: requests.Session, case: Case[Any]
    ) -> None:
        response = case.call(base_url=base_url, session=session, headers=dict(auth), timeout=15)
        status = response.status_code
        seen[f"{label} {status // 100}xx"] += 1
        if status >= 500 and status != 503:
            broken.append(f"{label} -> {status} {response.text[:200]!r}")

    return call


# schemathesis's own strategies use `random`; not ours to change.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_input_on_either_listener_yields_a_5xx_other_than_503(
    stack: RunningStack, session: requests.Session
) -> None:
    started = time.monotonic()
    partner = {mode: PARTNER_HEADERS for mode in GenerationMode}
    internal = {
        GenerationMode.POSITIVE: {**SERVICE_HEADERS, **DRIVER_HEADERS},
        GenerationMode.NEGATIVE: SERVICE_HEADERS,
    }
    seen, broken = _fuzz_listener("partner", stack.ingress_url, partner, session)
    internal_seen, internal_broken = _fuzz_listener(
        "internal", stack.internal_url, internal, session
    )
    seen += internal_seen
    broken += internal_broken
    elapsed = time.monotonic() - started
    operations = {label.rsplit(" ", 1)[0] for label in seen}
    print(
        f"\nfuzzed {len(operations)} operations, {sum(seen.values())} requests, seed {SEED},"
        f" {elapsed:.0f} s"
    )
    for label, count in sorted(seen.items()):
        print(f"  {label}: {count}")
    assert not broken, "\n".join(broken[:20])
    # The authenticated paths were reached, not only refused at the door.
    assert seen["partner POST /mobi/v1/payments 2xx"] > 0
    assert seen["internal POST /internal/v1/ride-events 2xx"] > 0
