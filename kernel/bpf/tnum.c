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

/* One word shifted by k < 64: logical left (kind 0), logical right (kind 1)
 * or arithmetic right (kind 2; x already sign-extended to 64 bits). */
static inline uint64_t shift_word(uint64_t x, unsigned k, int kind)
{
	if (kind == 0)
		return x << k;
	if (kind == 1)
		return x >> k;
	return (uint64_t)((int64_t)x >> k);
}

/*
 * The union of bpf_tnum_{l,r,ar}shift(t, k) over every k in [lo, hi], for a
 * shift whose amount is only known to lie in that range. Contract: hi <= width-1
 * (the callers' amounts are masked); for hi <= lo the result is the shift by lo.
 *
 * Why this is exact, i.e. bit for bit the tnum that folding bpf_tnum_union over
 * the shifted tnums produces: a union keeps a bit known only if it is known and
 * has the same value in every operand. So bit i of the result is a known 1
 * exactly when bit i is a known 1 in every shifted tnum, and is possibly 1
 * exactly when it is possibly 1 in some shifted tnum. With KO = value & ~mask
 * (the known ones) and M1 = value | mask (the possible ones), and because
 * shifts commute with & and |:
 *     value = AND over k of sh(KO, k),    maybe = OR over k of sh(M1, k),
 *     mask  = maybe & ~value.
 * (A bit known 0 in all operands is 0 in both words; a bit unknown or known
 * with different values in two operands has value 0 and maybe 1, so mask 1.
 * This holds even for an ill-formed t, value & mask != 0: such a bit counts as
 * unknown, as it does in bpf_tnum_union.)
 *
 * AND and OR are idempotent, so the range needs no loop over its amounts.
 * Shifting by lo last, the words are widened to cover the amounts [0, d],
 * d = hi - lo, by steps "x op= sh(x, s)", each of which turns a cover of
 * [0, c] into one of [0, c + s] provided s <= c + 1 (no gap). First the cover
 * doubles (s = 1, 2, 4, .., 32) while the result stays within [0, d], giving
 * [0, 2^m - 1]; then the rest r = d - (2^m - 1) < 2^m is added by its binary
 * digits (s = 16, .., 1), each at most 2^(m-1). Every step shifts by a
 * constant and is switched on or off by a mask computed from d (no branch,
 * no data-dependent shift), so the only variable shift is the final one by
 * lo; all amounts stay below 64 (C leaves larger ones undefined), and
 * sh(sh(x, a), b) == sh(x, a + b) while a + b <= hi < 64.
 * A 32-bit arithmetic shift works on the low half sign-extended to 64 bits,
 * whose low 32 bits then shift exactly like the 32-bit quantity, and
 * zero-extends the result like bpf_tnum_arshift.
 *
 * This replaced a loop over up to 64 amounts with the same result (checked
 * against that loop in tests/bpf/test_tnum_shift_union.py); a fixed number of
 * steps is also what lets `axiomdbg prove verifier` execute it symbolically.
 */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_shift_union(struct bpf_tnum t, unsigned lo, unsigned hi, int kind,
						  unsigned width)
{
	bool sext32 = kind == 2 && width == 32;
	uint64_t all1 = t.value & ~t.mask, any1 = t.value | t.mask;
	unsigned d, c, s;

	if (hi > 63)
		hi = 63;
	if (hi <= lo)
		return kind == 0   ? bpf_tnum_lshift(t, lo)
		       : kind == 1 ? bpf_tnum_rshift(t, lo)
				   : bpf_tnum_arshift(t, lo, width);
	if (sext32) {
		all1 = (uint64_t)(int64_t)(int32_t)(uint32_t)all1;
		any1 = (uint64_t)(int64_t)(int32_t)(uint32_t)any1;
	}
	d = hi - lo; /* 1..63 */
	for (s = 1, c = 0; s < 64; s *= 2) {
		uint64_t use = 0 - (uint64_t)(2 * s - 1 <= d);

		all1 &= shift_word(all1, s, kind) | ~use;
		any1 |= shift_word(any1, s, kind) & use;
		c = use ? 2 * s - 1 : c;
	}
	for (s = 16; s >= 1; s /= 2) {
		uint64_t use = 0 - (uint64_t)(((d - c) & s) != 0);

		all1 &= shift_word(all1, s, kind) | ~use;
		any1 |= shift_word(any1, s, kind) & use;
	}
	all1 = shift_word(all1, lo, kind);
	any1 = shift_word(any1, lo, kind);
	if (sext32) {
		all1 = (uint32_t)all1;
		any1 = (uint32_t)any1;
	}
	return TNUM(all1, any1 & ~all1);
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
