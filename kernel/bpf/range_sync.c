/* SPDX-License-Identifier: MIT */
/*
 * range_sync.c - constructors, membership and the sync step of the scalar
 * domain (struct bpf_scalar, see bpf_range.h for the meaning of each field).
 *
 * The five components of a state describe the same set from different angles;
 * bpf_range_sync() lets each one tighten the others so an ALU operator only has
 * to compute the components it is good at (e.g. xor computes the tnum, add the
 * bounds) and still get a precise result. Each deduction below is justified in
 * its comment; none removes a member.
 */
#include "bpf_range.h"

#define U32_MAX 0xffffffffu
#define HI32 0xffffffff00000000ull

static inline uint64_t umax64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t umin64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline int64_t smax64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t smin64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline uint32_t umax32(uint32_t a, uint32_t b) { return a > b ? a : b; }
static inline uint32_t umin32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline int32_t smax32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t smin32(int32_t a, int32_t b) { return a < b ? a : b; }

/* Marks a state empty in a way every later step preserves (min > max). */
static inline void make_empty(struct bpf_scalar *s)
{
	s->umin = 1;
	s->umax = 0;
}

BPF_RANGE_OP void bpf_range_const(struct bpf_scalar *s, uint64_t v)
{
	s->t = bpf_tnum_const(v);
	s->umin = s->umax = v;
	s->smin = s->smax = (int64_t)v;
	s->u32min = s->u32max = (uint32_t)v;
	s->s32min = s->s32max = (int32_t)(uint32_t)v;
}

BPF_RANGE_OP void bpf_range_unknown(struct bpf_scalar *s)
{
	s->t.value = 0;
	s->t.mask = ~0ull;
	s->umin = 0;
	s->umax = ~0ull;
	s->smin = INT64_MIN;
	s->smax = INT64_MAX;
	s->u32min = 0;
	s->u32max = U32_MAX;
	s->s32min = INT32_MIN;
	s->s32max = INT32_MAX;
}

BPF_RANGE_OP void bpf_range_unknown_bytes(struct bpf_scalar *s, unsigned bytes)
{
	uint64_t m;

	bpf_range_unknown(s);
	if (bytes >= 8)
		return;
	m = (1ull << (bytes * 8)) - 1;
	s->t.mask = m;
	s->umax = m;
	s->smin = 0;
	s->smax = (int64_t)m;
	if (bytes < 4) {
		s->u32max = (uint32_t)m;
		s->s32min = 0;
		s->s32max = (int32_t)m;
	}
}

BPF_RANGE_OP bool bpf_range_contains(const struct bpf_scalar *s, uint64_t x)
{
	uint32_t x32 = (uint32_t)x;

	return bpf_tnum_in(s->t, x) && s->umin <= x && x <= s->umax && s->smin <= (int64_t)x &&
	       (int64_t)x <= s->smax && s->u32min <= x32 && x32 <= s->u32max &&
	       s->s32min <= (int32_t)x32 && (int32_t)x32 <= s->s32max;
}

BPF_RANGE_OP bool bpf_range_is_empty(const struct bpf_scalar *s)
{
	return (s->t.value & s->t.mask) || s->umin > s->umax || s->smin > s->smax ||
	       s->u32min > s->u32max || s->s32min > s->s32max || s->t.value > s->umax ||
	       (uint32_t)s->t.value > s->u32max;
}

BPF_RANGE_OP bool bpf_range_subset(const struct bpf_scalar *a, const struct bpf_scalar *b)
{
	/* every constraint of b is implied by the same constraint of a */
	return (a->t.mask & ~b->t.mask) == 0 && (a->t.value & ~b->t.mask) == b->t.value &&
	       a->umin >= b->umin && a->umax <= b->umax && a->smin >= b->smin &&
	       a->smax <= b->smax && a->u32min >= b->u32min && a->u32max <= b->u32max &&
	       a->s32min >= b->s32min && a->s32max <= b->s32max;
}

BPF_RANGE_OP bool bpf_range_is_const(const struct bpf_scalar *s, uint64_t *v)
{
	if (s->t.mask == 0) {
		*v = s->t.value;
		return true;
	}
	if (s->umin == s->umax) {
		*v = s->umin;
		return true;
	}
	return false;
}

/* Bounds implied by the tnum: the smallest member clears every unknown bit, the
 * largest sets them; for signed order the sign bit goes the other way. */
BPF_RANGE_OP void bpf_sync_tnum_to_bounds(struct bpf_scalar *s)
{
	uint64_t v = s->t.value, m = s->t.mask;
	uint32_t v32 = (uint32_t)v, m32 = (uint32_t)m;

	s->umin = umax64(s->umin, v);
	s->umax = umin64(s->umax, v | m);
	s->smin = smax64(s->smin, (int64_t)(v | (m & (1ull << 63))));
	s->smax = smin64(s->smax, (int64_t)(v | (m & ~(1ull << 63))));
	s->u32min = umax32(s->u32min, v32);
	s->u32max = umin32(s->u32max, v32 | m32);
	s->s32min = smax32(s->s32min, (int32_t)(v32 | (m32 & 0x80000000u)));
	s->s32max = smin32(s->s32max, (int32_t)(v32 | (m32 & 0x7fffffffu)));
}

/* Signed <-> unsigned within one width. If the unsigned range does not cross
 * the sign boundary, unsigned and signed order agree on it, and vice versa.
 * If the signed range crosses zero but the unsigned range excludes one side,
 * the members all lie on the other side. */
BPF_RANGE_OP void bpf_sync_deduce64(struct bpf_scalar *s)
{
	if ((s->umin >> 63) == (s->umax >> 63)) {
		s->smin = smax64(s->smin, (int64_t)s->umin);
		s->smax = smin64(s->smax, (int64_t)s->umax);
	}
	if (s->smin >= 0 || s->smax < 0) {
		s->umin = umax64(s->umin, (uint64_t)s->smin);
		s->umax = umin64(s->umax, (uint64_t)s->smax);
	} else {
		/* members are in [0, smax] or [smin, -1] (as unsigned: high half) */
		if (s->umax < (uint64_t)s->smin) /* no member in the negative part */
			s->umax = umin64(s->umax, (uint64_t)s->smax);
		if (s->umin > (uint64_t)s->smax) /* no member in the non-negative part */
			s->umin = umax64(s->umin, (uint64_t)s->smin);
	}
}

BPF_RANGE_OP void bpf_sync_deduce32(struct bpf_scalar *s)
{
	if ((s->u32min >> 31) == (s->u32max >> 31)) {
		s->s32min = smax32(s->s32min, (int32_t)s->u32min);
		s->s32max = smin32(s->s32max, (int32_t)s->u32max);
	}
	if (s->s32min >= 0 || s->s32max < 0) {
		s->u32min = umax32(s->u32min, (uint32_t)s->s32min);
		s->u32max = umin32(s->u32max, (uint32_t)s->s32max);
	} else {
		if (s->u32max < (uint32_t)s->s32min)
			s->u32max = umin32(s->u32max, (uint32_t)s->s32max);
		if (s->u32min > (uint32_t)s->s32max)
			s->u32min = umax32(s->u32min, (uint32_t)s->s32min);
	}
}

/* 64 -> 32: when both ends of a 64-bit range share their upper half, every
 * member does too, and the low halves form the contiguous range between the
 * ends' low halves. Signed: the same with an arithmetic upper half; the low
 * halves then also agree as s32 if they do not cross 0x80000000. */
BPF_RANGE_OP void bpf_sync_64_to_32(struct bpf_scalar *s)
{
	if ((s->umin >> 32) == (s->umax >> 32)) {
		uint32_t lo = (uint32_t)s->umin, hi = (uint32_t)s->umax;

		s->u32min = umax32(s->u32min, lo);
		s->u32max = umin32(s->u32max, hi);
		if ((lo >> 31) == (hi >> 31)) {
			s->s32min = smax32(s->s32min, (int32_t)lo);
			s->s32max = smin32(s->s32max, (int32_t)hi);
		}
	}
	if ((s->smin >> 32) == (s->smax >> 32)) {
		uint32_t lo = (uint32_t)s->smin, hi = (uint32_t)s->smax;

		s->u32min = umax32(s->u32min, lo);
		s->u32max = umin32(s->u32max, hi);
		if ((lo >> 31) == (hi >> 31)) {
			s->s32min = smax32(s->s32min, (int32_t)lo);
			s->s32max = smin32(s->s32max, (int32_t)hi);
		}
	}
}

/* 32 -> 64: if every member has the same upper half h (known from the tnum or
 * from umin/umax sharing it), members lie in [h|u32min, h|u32max]. */
BPF_RANGE_OP void bpf_sync_32_to_64(struct bpf_scalar *s)
{
	uint64_t h;

	if ((s->t.mask & HI32) == 0) {
		h = s->t.value & HI32;
		s->umin = umax64(s->umin, h | s->u32min);
		s->umax = umin64(s->umax, h | s->u32max);
	}
	if ((s->umin >> 32) == (s->umax >> 32)) {
		h = s->umin & HI32;
		s->umin = umax64(s->umin, h | s->u32min);
		s->umax = umin64(s->umax, h | s->u32max);
	}
}

/* Bounds -> tnum: members of [umin, umax] share the range's common prefix, and
 * their low halves share the prefix of [u32min, u32max]. A contradiction with
 * the known bits means the state is empty. */
BPF_RANGE_OP void bpf_sync_bounds_to_tnum(struct bpf_scalar *s)
{
	struct bpf_tnum r = bpf_tnum_range(s->umin, s->umax);
	struct bpf_tnum r32 = bpf_tnum_range(s->u32min, s->u32max);

	r32.mask |= HI32;
	if (s->umin > s->umax || s->u32min > s->u32max)
		return; /* already empty, keep it so */
	if (((s->t.value ^ r.value) & ~(s->t.mask | r.mask)) ||
	    ((s->t.value ^ r32.value) & ~(s->t.mask | r32.mask))) {
		make_empty(s);
		return;
	}
	s->t = bpf_tnum_intersect(s->t, r);
	s->t = bpf_tnum_intersect(s->t, r32);
}

/* The steps above are separate (noinline) functions, not inlined helpers, so
 * each can be proved to keep every member on its own: one round inlined is too
 * large a formula for the prover (axiomdbg prove verifier, docs/proofs.md). */
BPF_RANGE_OP void bpf_range_sync(struct bpf_scalar *s)
{
	int i;

	if (s->t.value & s->t.mask) { /* malformed tnum: no member */
		s->t.value &= ~s->t.mask;
		make_empty(s);
		return;
	}
	/* Two rounds reach a fixed point for every case the verifier cares about;
	 * each round is sound on its own, so stopping early is never wrong. */
	for (i = 0; i < 2; i++) {
		bpf_sync_tnum_to_bounds(s);
		bpf_sync_deduce32(s);
		bpf_sync_deduce64(s);
		bpf_sync_64_to_32(s);
		bpf_sync_32_to_64(s);
		bpf_sync_deduce32(s);
		bpf_sync_deduce64(s);
		bpf_sync_bounds_to_tnum(s);
	}
	bpf_sync_tnum_to_bounds(s);
}

BPF_RANGE_OP void bpf_range_join(struct bpf_scalar *out, const struct bpf_scalar *a,
				 const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	r.t = bpf_tnum_union(a->t, b->t);
	r.umin = umin64(a->umin, b->umin);
	r.umax = umax64(a->umax, b->umax);
	r.smin = smin64(a->smin, b->smin);
	r.smax = smax64(a->smax, b->smax);
	r.u32min = umin32(a->u32min, b->u32min);
	r.u32max = umax32(a->u32max, b->u32max);
	r.s32min = smin32(a->s32min, b->s32min);
	r.s32max = smax32(a->s32max, b->s32max);
	*out = r;
}
