/* SPDX-License-Identifier: MIT */
/*
 * tnum.c - tristate numbers: a (value, mask) pair describes the set of 64-bit
 * words whose bits outside `mask` equal `value`. The algorithms are the ones
 * the Linux verifier uses (Vishwanathan et al., "Sound, Precise, and Fast
 * Abstract Interpretation with Tristate Numbers", CGO 2022, for add/sub/mul).
 * Pure functions, see bpf_range.h for the rules every operator follows.
 */
#include "bpf_range.h"

#define TNUM(v, m) ((struct bpf_tnum){ .value = (v), .mask = (m) })

BPF_RANGE_OP struct bpf_tnum bpf_tnum_const(uint64_t v)
{
	return TNUM(v, 0);
}

/* Smallest tnum containing [min, max]: the common prefix of min and max is
 * known, every bit below the highest differing bit is unknown. */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_range(uint64_t min, uint64_t max)
{
	uint64_t chi = min ^ max, delta;
	unsigned bits = chi ? 64 - (unsigned)__builtin_clzll(chi) : 0;

	if (bits > 63)
		return TNUM(0, ~0ull);
	delta = (1ull << bits) - 1;
	return TNUM(min & ~delta, delta);
}

/* Unknown bits of either operand and every bit a carry chain can reach. */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_add(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
	uint64_t sigma = sm + sv, chi = sigma ^ sv;
	uint64_t mu = chi | a.mask | b.mask;

	return TNUM(sv & ~mu, mu);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_sub(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t dv = a.value - b.value;
	uint64_t alpha = dv + a.mask, beta = dv - b.mask;
	uint64_t chi = alpha ^ beta, mu = chi | a.mask | b.mask;

	return TNUM(dv & ~mu, mu);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_and(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t alpha = a.value | a.mask, beta = b.value | b.mask;
	uint64_t v = a.value & b.value;

	return TNUM(v, alpha & beta & ~v);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_or(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask | b.mask;

	return TNUM(v, mu & ~v);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_xor(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t v = a.value ^ b.value, mu = a.mask | b.mask;

	return TNUM(v & ~mu, mu);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_lshift(struct bpf_tnum a, unsigned shift)
{
	shift &= 63;
	return TNUM(a.value << shift, a.mask << shift);
}

BPF_RANGE_OP struct bpf_tnum bpf_tnum_rshift(struct bpf_tnum a, unsigned shift)
{
	shift &= 63;
	return TNUM(a.value >> shift, a.mask >> shift);
}

/* Arithmetic shift of a `width`-bit quantity (32: the result is zero-extended).
 * Shifting value and mask arithmetically is exact: an unknown sign bit makes
 * every replicated bit unknown, a known one replicates into value. */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_arshift(struct bpf_tnum a, unsigned shift, unsigned width)
{
	if (width == 32) {
		shift &= 31;
		return TNUM((uint32_t)((int32_t)(uint32_t)a.value >> shift),
			    (uint32_t)((int32_t)(uint32_t)a.mask >> shift));
	}
	shift &= 63;
	return TNUM((uint64_t)((int64_t)a.value >> shift), (uint64_t)((int64_t)a.mask >> shift));
}

/* Long multiplication over the bits of a: every partial product whose
 * multiplier bit is unknown contributes unknown bits (Linux's tnum_mul). */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_mul(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t acc_v = a.value * b.value;
	struct bpf_tnum acc_m = TNUM(0, 0);
	int i;

	for (i = 0; i < 64 && (a.value || a.mask); i++) {
		if (a.value & 1)
			acc_m = bpf_tnum_add(acc_m, TNUM(0, b.mask));
		else if (a.mask & 1)
			acc_m = bpf_tnum_add(acc_m, TNUM(0, b.value | b.mask));
		a = bpf_tnum_rshift(a, 1);
		b = bpf_tnum_lshift(b, 1);
	}
	return bpf_tnum_add(TNUM(acc_v, 0), acc_m);
}

/* Values described by both. If a and b disagree on a known bit the true set is
 * empty; the result is then well formed but meaningless, and callers detect the
 * conflict with ((a.value ^ b.value) & ~(a.mask | b.mask)). */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_intersect(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t v = a.value | b.value, mu = a.mask & b.mask;

	return TNUM(v & ~mu, mu);
}

/* Values described by either: a bit stays known only if known and equal in both. */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_union(struct bpf_tnum a, struct bpf_tnum b)
{
	uint64_t mu = a.mask | b.mask | (a.value ^ b.value);

	return TNUM(a.value & ~mu, mu);
}

/* Truncate to `bytes` bytes (1, 2, 4 or 8) and zero-extend. */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_cast(struct bpf_tnum a, unsigned bytes)
{
	uint64_t m = bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;

	return TNUM(a.value & m, a.mask & m);
}

BPF_RANGE_OP bool bpf_tnum_in(struct bpf_tnum t, uint64_t x)
{
	return (x & ~t.mask) == t.value;
}
