"""How many sessions (or streams) each caller may hold open, within a total of which anonymous
callers never get the last slots: one flooding caller cannot lock every other one out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from starlette.types import Scope

from kubehelm_mcp.caller import Caller, remote_address
from kubehelm_mcp.web.principal import PRINCIPAL_SCOPE_KEY, Principal

# The share of each total that only authenticated callers may take.
AUTHENTICATED_RESERVE = 0.1


@dataclass(frozen=True)
class Holder:
    """Who holds a slot: the principal's name, else the client's host."""

    key: str
    authenticated: bool


def holder_of(scope: Scope) -> Holder:
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    caller = Caller(
        principal=principal if isinstance(principal, Principal) else None,
        remote=remote_address(scope.get("client")),
    )
    return Holder(caller.limit_key, caller.principal is not None)


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    description: str


class CallerSlots:
    """Open items (session ids, streams) by holder: at most per_caller each, total in all, and
    anonymous holders only up to total minus the authenticated reserve."""

    def __init__(self, what: str, total: int, per_caller: int, idle_timeout: float) -> None:
        self.what = what  # plural noun for the refusal sentences, e.g. "sessions"
        self.total = total
        self.per_caller = per_caller
        self.anonymous_total = max(total - int(total * AUTHENTICATED_RESERVE), 1)
        self._idle_timeout = idle_timeout
        self._holders: dict[object, Holder] = {}
        self._counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._holders)

    def held_by(self, key: str) -> int:
        return self._counts[key]

    def refusal(self, holder: Holder) -> Refusal | None:
        """Why holder may not open one more, or None when it may."""
        if self._counts[holder.key] >= self.per_caller:
            return Refusal(
                429,
                f"too_many_{self.what}",
                f"This caller already holds {self.per_caller} open {self.what}, the most one caller may; "
                f"close one, or wait until an unused one expires ({self._idle_timeout:g} s idle).",
            )
        if len(self._holders) >= (self.total if holder.authenticated else self.anonymous_total):
            return Refusal(503, f"too_many_{self.what}", f"The server holds too many open {self.what}; retry later.")
        return None

    def take(self, holder: Holder, item: object) -> None:
        """Record item as holder's; check refusal() first, with no await in between."""
        self._holders[item] = holder
        self._counts[holder.key] += 1

    def give_back(self, item: object) -> None:
        """Idempotent: an item may be discarded more than once."""
        holder = self._holders.pop(item, None)
        if holder is not None:
            self._counts[holder.key] -= 1
            if not self._counts[holder.key]:
                del self._counts[holder.key]
