"""The rules of the shared summary queue that both store adapters apply the same way.

Retry policy for failed units: a failure costs one attempt; the unit is claimable again after
a back-off (RETRY_BASE_S, then x RETRY_FACTOR per attempt: 1, 4 minutes), and after
MAX_ATTEMPTS failures it stays "failed" until someone asks again (`ragcode index`, the web
app's next upload, or `ragcode worker --retry-failed`, through `retry_failed()`). So a unit
the LLM cannot summarize (too long, a broken endpoint) never loops, and an endpoint outage of
a few minutes is ridden out without anyone's help.
"""

from __future__ import annotations

from ragcode.domain import SummaryState

MAX_ATTEMPTS = 3
RETRY_BASE_S = 60.0
RETRY_FACTOR = 4.0
# A worker whose heartbeat is older than this many of its leases is not shown as alive.
LIVE_LEASES = 2.0
# Worker rows nobody has heard of for this long are deleted by the next heartbeat.
FORGET_WORKERS_S = 86_400.0

PENDING = SummaryState.PENDING.value
FAILED = SummaryState.FAILED.value
# The states a claim looks at, as SQL literals: both stores keep a partial index on exactly
# this predicate, and SQLite uses a partial index only when the query repeats it literally.
QUEUED_STATES_SQL = f"('{PENDING}', '{FAILED}')"


def retry_delay(attempts: int) -> float:
    """Seconds before a unit that has now failed `attempts` times may be claimed again."""
    return RETRY_BASE_S * RETRY_FACTOR ** max(0, attempts - 1)


def claimable_sql(now: str, max_attempts: str) -> str:
    """The WHERE condition of a claimable unit (after `collection = ...`): pending or failed
    with its retry due and attempts left, and no live lease. `now`/`max_attempts` are the
    SQL expressions (placeholders) for the current time and MAX_ATTEMPTS."""
    return (
        f"summary_state IN {QUEUED_STATES_SQL}"
        f" AND (lease_until IS NULL OR lease_until < {now})"
        f" AND (summary_state = '{PENDING}'"
        f" OR (summary_attempts < {max_attempts} AND coalesce(retry_at, 0) <= {now}))"
    )


def empty_counts() -> dict[str, int]:
    return {"pending": 0, "leased": 0, "retrying": 0, "gave_up": 0, "ready": 0}


def tally(
    counts: dict[str, int], state: str, leased: bool, final: bool, due: bool, count: int
) -> None:
    """Add one group of queued units (same state, live lease or not, attempts used up or
    not, retry due or not) to the counters of a QueueStatus."""
    if leased:
        counts["leased"] += count
    elif state == PENDING:
        counts["pending"] += count
        counts["ready"] += count
    elif final:
        counts["gave_up"] += count
    else:
        counts["retrying"] += count
        counts["ready"] += count if due else 0
