"""The lemma the jump feasibility queries rest on (checks.nonempty_facts):
membership of any value implies each fact; the check must be able to fail."""

import claripy

from axiomdbg.prove import checks, model


def _state(prefix):
    return {f: claripy.BVS(f"{prefix}.{f}", model.FIELD_BITS[f], explicit_name=True) for f in model.FIELDS}


def test_member_implies_nonempty_is_proved():
    checks.member_implies_nonempty.cache_clear()
    checks.member_implies_nonempty()   # raises unless Z3 proves every fact


def test_each_fact_negates_one_test_of_is_empty():
    """A state that bpf_range_is_empty would call empty violates some fact:
    the facts are exactly the negations of its tests (range_sync.c)."""
    s = _state("t")
    facts = claripy.And(*checks.nonempty_facts(s))
    r, _, _ = checks.solve([facts, model.is_empty_obvious(s)], 60_000)
    assert r == "unsat"


def test_a_non_consequence_of_membership_is_refuted():
    """value <= umin is not implied by membership (umin may lie below the tnum's
    least member): the same kind of query comes out SAT, so the lemma check
    is not vacuous."""
    s = _state("u")
    x = claripy.BVS("u.x", 64, explicit_name=True)
    r, m, _ = checks.solve([model.member(s, x), claripy.Not(s["t.value"].ULE(s["umin"]))], 60_000)
    assert r == "sat"
    assert m is not None
