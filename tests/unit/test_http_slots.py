"""Per-caller slots for sessions and streams, on their own: each caller's share, the total, and
the reserve anonymous callers cannot take."""

from __future__ import annotations

from kubehelm_mcp.caller import Principal
from kubehelm_mcp.web.principal import PRINCIPAL_SCOPE_KEY
from kubehelm_mcp.web.slots import CallerSlots, Holder, holder_of

ANONYMOUS = Holder("127.0.0.1", authenticated=False)


def fill(slots: CallerSlots, holder: Holder) -> int:
    """Take slots for holder until refused; how many it got."""
    taken = 0
    while slots.refusal(holder) is None:
        slots.take(holder, object())
        taken += 1
    return taken


def test_each_caller_gets_at_most_its_share() -> None:
    slots = CallerSlots("sessions", total=100, per_caller=3, idle_timeout=300)
    assert fill(slots, ANONYMOUS) == 3
    refused = slots.refusal(ANONYMOUS)
    assert refused is not None and refused.status == 429 and refused.error == "too_many_sessions"
    assert fill(slots, Holder("127.0.0.2", authenticated=False)) == 3


def test_anonymous_callers_never_take_the_reserved_slots() -> None:
    slots = CallerSlots("streams", total=10, per_caller=1, idle_timeout=300)
    anonymous = sum(fill(slots, Holder(f"10.0.0.{i}", authenticated=False)) for i in range(20))
    assert anonymous == 9
    refused = slots.refusal(Holder("10.0.0.99", authenticated=False))
    assert refused is not None and refused.status == 503
    assert fill(slots, Holder("issuer|alice", authenticated=True)) == 1  # the reserve
    assert slots.refusal(Holder("issuer|bob", authenticated=True)) is not None  # the total


def test_giving_back_frees_the_slot_once() -> None:
    slots = CallerSlots("sessions", total=10, per_caller=1, idle_timeout=300)
    item = object()
    slots.take(ANONYMOUS, item)
    assert slots.refusal(ANONYMOUS) is not None
    slots.give_back(item)
    slots.give_back(item)  # a session can be discarded twice
    assert slots.refusal(ANONYMOUS) is None and len(slots) == 0


def test_the_holder_is_the_principal_else_the_host_without_its_port() -> None:
    alice = Principal(subject="alice", client="app", issuer="https://idp")
    assert holder_of({"client": ("127.0.0.1", 5000)}) == holder_of({"client": ("127.0.0.1", 6000)}) == ANONYMOUS
    authenticated = {"client": ("127.0.0.1", 5000), PRINCIPAL_SCOPE_KEY: alice}
    assert holder_of(authenticated) == Holder("https://idp|alice", authenticated=True)
