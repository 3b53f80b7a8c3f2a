/* SPDX-License-Identifier: MIT */
/*
 * range_jmp.c - branch refinement of the scalar domain.
 *
 * For `if (dst OP src) goto T` every condition is expressed through three
 * primitive facts, each enforced on one pair of components:
 *   - x < y or x <= y in one of four orders (u64, s64, u32, s32): shrink x's
 *     max below y's max and y's min above x's min;
 *   - x == y: intersect every component (32-bit: only the low halves);
 *   - x != y: a constant side can cut an endpoint of the other side;
 *   - jset: (x & y) != 0 / == 0 against a constant mask edits known bits.
 * Each refined state is then synced; an edge whose refined state is empty is
 * reported infeasible. Contract and soundness statement: bpf_range.h.
 */
#include "bpf_range.h"
#include <uapi/axiom/bpf.h>

#define LOW32 0xffffffffull
#define HI32 0xffffffff00000000ull

enum order { ORD_U64, ORD_S64, ORD_U32, ORD_S32 };

/* Enforce x < y (strict) or x <= y in the given order; false if impossible. */
static inline bool enforce_lt(struct bpf_scalar *x, struct bpf_scalar *y, enum order o, bool strict)
{
	switch (o) {
	case ORD_U64:
		if (strict && (y->umax == 0 || x->umin == ~0ull))
			return false;
		if (x->umax > y->umax - strict)
			x->umax = y->umax - strict;
		if (y->umin < x->umin + strict)
			y->umin = x->umin + strict;
		return x->umin <= x->umax && y->umin <= y->umax;
	case ORD_S64:
		if (strict && (y->smax == INT64_MIN || x->smin == INT64_MAX))
			return false;
		if (x->smax > y->smax - strict)
			x->smax = y->smax - strict;
		if (y->smin < x->smin + strict)
			y->smin = x->smin + strict;
		return x->smin <= x->smax && y->smin <= y->smax;
	case ORD_U32:
		if (strict && (y->u32max == 0 || x->u32min == 0xffffffffu))
			return false;
		if (x->u32max > y->u32max - strict)
			x->u32max = y->u32max - strict;
		if (y->u32min < x->u32min + strict)
			y->u32min = x->u32min + strict;
		return x->u32min <= x->u32max && y->u32min <= y->u32max;
	default:
		if (strict && (y->s32max == INT32_MIN || x->s32min == INT32_MAX))
			return false;
		if (x->s32max > y->s32max - strict)
			x->s32max = y->s32max - strict;
		if (y->s32min < x->s32min + strict)
			y->s32min = x->s32min + strict;
		return x->s32min <= x->s32max && y->s32min <= y->s32max;
	}
}

/* x == y on the compared width: both become the intersection. */
static inline bool enforce_eq(struct bpf_scalar *x, struct bpf_scalar *y, bool is32)
{
	struct bpf_tnum tx = x->t, ty = y->t;
	struct bpf_scalar m;

	if (is32) {
		/* only the low halves are equal: upper bits of the other side say nothing */
		tx.mask |= HI32;
		tx.value &= LOW32;
		ty.mask |= HI32;
		ty.value &= LOW32;
	}
	if ((x->t.value ^ ty.value) & ~(x->t.mask | ty.mask))
		return false;
	if ((y->t.value ^ tx.value) & ~(y->t.mask | tx.mask))
		return false;
	x->t = bpf_tnum_intersect(x->t, ty);
	y->t = bpf_tnum_intersect(y->t, tx);
	m.u32min = x->u32min > y->u32min ? x->u32min : y->u32min;
	m.u32max = x->u32max < y->u32max ? x->u32max : y->u32max;
	m.s32min = x->s32min > y->s32min ? x->s32min : y->s32min;
	m.s32max = x->s32max < y->s32max ? x->s32max : y->s32max;
	x->u32min = y->u32min = m.u32min;
	x->u32max = y->u32max = m.u32max;
	x->s32min = y->s32min = m.s32min;
	x->s32max = y->s32max = m.s32max;
	if (!is32) {
		m.umin = x->umin > y->umin ? x->umin : y->umin;
		m.umax = x->umax < y->umax ? x->umax : y->umax;
		m.smin = x->smin > y->smin ? x->smin : y->smin;
		m.smax = x->smax < y->smax ? x->smax : y->smax;
		x->umin = y->umin = m.umin;
		x->umax = y->umax = m.umax;
		x->smin = y->smin = m.smin;
		x->smax = y->smax = m.smax;
	}
	return true;
}

/* x != c for a constant c (on the compared width): an endpoint equal to c moves. */
static inline bool enforce_ne_const(struct bpf_scalar *x, uint64_t c, bool is32)
{
	uint64_t v;

	if (is32) {
		uint32_t c32 = (uint32_t)c;

		if (x->u32min == x->u32max && x->u32min == c32)
			return false;
		if ((x->t.mask & LOW32) == 0 && (uint32_t)x->t.value == c32)
			return false;
		if (x->u32min == c32)
			x->u32min++;
		else if (x->u32max == c32)
			x->u32max--;
		if (x->s32min == (int32_t)c32)
			x->s32min++;
		else if (x->s32max == (int32_t)c32)
			x->s32max--;
		return true;
	}
	if (bpf_range_is_const(x, &v) && v == c)
		return false;
	if (x->umin == c)
		x->umin++;
	else if (x->umax == c)
		x->umax--;
	if (x->smin == (int64_t)c)
		x->smin++;
	else if (x->smax == (int64_t)c)
		x->smax--;
	return true;
}

static inline bool const_of(const struct bpf_scalar *s, bool is32, uint64_t *c)
{
	if (is32) {
		if ((s->t.mask & LOW32) == 0) {
			*c = s->t.value & LOW32;
			return true;
		}
		if (s->u32min == s->u32max) {
			*c = s->u32min;
			return true;
		}
		return false;
	}
	return bpf_range_is_const(s, c);
}

static inline bool finish(struct bpf_scalar *x, struct bpf_scalar *y, bool ok)
{
	if (!ok)
		return false;
	bpf_range_sync(x);
	bpf_range_sync(y);
	return !bpf_range_is_empty(x) && !bpf_range_is_empty(y);
}

static inline int result(bool t, bool f)
{
	return (t ? BPF_BR_TAKEN : 0) | (f ? BPF_BR_FALLTHROUGH : 0);
}

/* Order comparisons. taken(x,y) is one of x<y, x<=y, y<x, y<=x; the
 * fall-through edge gets the negation. `lt`: the taken relation is "dst below
 * src"; `strict`: strict inequality on the taken edge. */
static inline int cmp_refine(bool is32, bool sign, bool lt, bool strict,
			     const struct bpf_scalar *dst, const struct bpf_scalar *src,
			     struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			     struct bpf_scalar *sf)
{
	enum order o = is32 ? (sign ? ORD_S32 : ORD_U32) : (sign ? ORD_S64 : ORD_U64);
	bool t, f;

	*dt = *dst;
	*st = *src;
	*df = *dst;
	*sf = *src;
	/* taken: dst < src (lt) or src < dst (!lt), strict or not.
	 * fall-through: the negation, which swaps the sides and the strictness. */
	if (lt) {
		t = enforce_lt(dt, st, o, strict);
		f = enforce_lt(sf, df, o, !strict);
	} else {
		t = enforce_lt(st, dt, o, strict);
		f = enforce_lt(df, sf, o, !strict);
	}
	t = finish(dt, st, t);
	f = finish(df, sf, f);
	return result(t, f);
}

BPF_RANGE_OP int bpf_range_jgt(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	return cmp_refine(is32, false, false, true, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jge(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	return cmp_refine(is32, false, false, false, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jlt(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	return cmp_refine(is32, false, true, true, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jle(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	return cmp_refine(is32, false, true, false, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jsgt(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
				struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
				struct bpf_scalar *sf)
{
	return cmp_refine(is32, true, false, true, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jsge(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
				struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
				struct bpf_scalar *sf)
{
	return cmp_refine(is32, true, false, false, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jslt(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
				struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
				struct bpf_scalar *sf)
{
	return cmp_refine(is32, true, true, true, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jsle(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
				struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
				struct bpf_scalar *sf)
{
	return cmp_refine(is32, true, true, false, dst, src, dt, st, df, sf);
}

BPF_RANGE_OP int bpf_range_jeq(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	uint64_t c;
	bool t, f = true;

	*dt = *dst;
	*st = *src;
	*df = *dst;
	*sf = *src;
	t = finish(dt, st, enforce_eq(dt, st, is32));
	if (const_of(src, is32, &c))
		f = enforce_ne_const(df, c, is32);
	if (f && const_of(dst, is32, &c))
		f = enforce_ne_const(sf, c, is32);
	f = finish(df, sf, f);
	return result(t, f);
}

BPF_RANGE_OP int bpf_range_jne(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
			       struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
			       struct bpf_scalar *sf)
{
	int r = bpf_range_jeq(is32, dst, src, df, sf, dt, st);

	return ((r & BPF_BR_TAKEN) ? BPF_BR_FALLTHROUGH : 0) | ((r & BPF_BR_FALLTHROUGH) ? BPF_BR_TAKEN : 0);
}

/* jset: taken iff (x & y) != 0 on the compared width. */
BPF_RANGE_OP int bpf_range_jset(bool is32, const struct bpf_scalar *dst, const struct bpf_scalar *src,
				struct bpf_scalar *dt, struct bpf_scalar *st, struct bpf_scalar *df,
				struct bpf_scalar *sf)
{
	uint64_t w = is32 ? LOW32 : ~0ull, c;
	uint64_t maybe = (dst->t.value | dst->t.mask) & (src->t.value | src->t.mask) & w;
	uint64_t surely = dst->t.value & src->t.value & w;
	bool t = maybe != 0, f = surely == 0;

	*dt = *dst;
	*st = *src;
	*df = *dst;
	*sf = *src;
	/* fall-through: x & c == 0, so every bit of a constant c is 0 in x */
	if (f && const_of(src, is32, &c)) {
		df->t.value &= ~(c & w);
		df->t.mask &= ~(c & w);
	}
	if (f && const_of(dst, is32, &c)) {
		sf->t.value &= ~(c & w);
		sf->t.mask &= ~(c & w);
	}
	/* taken with a single-bit constant: that bit is set in x */
	if (t && const_of(src, is32, &c) && c && (c & (c - 1)) == 0) {
		dt->t.value |= c;
		dt->t.mask &= ~c;
	}
	if (t && const_of(dst, is32, &c) && c && (c & (c - 1)) == 0) {
		st->t.value |= c;
		st->t.mask &= ~c;
	}
	/* taken: neither side is 0 on the compared width */
	if (t) {
		if (!enforce_ne_const(dt, 0, is32) || !enforce_ne_const(st, 0, is32))
			t = false;
	}
	t = finish(dt, st, t);
	f = finish(df, sf, f);
	return result(t, f);
}

BPF_RANGE_OP int bpf_range_jmp_refine(unsigned op, bool is32, const struct bpf_scalar *dst,
				      const struct bpf_scalar *src, struct bpf_scalar *dt,
				      struct bpf_scalar *st, struct bpf_scalar *df, struct bpf_scalar *sf)
{
	switch (op) {
	case BPF_JEQ: return bpf_range_jeq(is32, dst, src, dt, st, df, sf);
	case BPF_JNE: return bpf_range_jne(is32, dst, src, dt, st, df, sf);
	case BPF_JGT: return bpf_range_jgt(is32, dst, src, dt, st, df, sf);
	case BPF_JGE: return bpf_range_jge(is32, dst, src, dt, st, df, sf);
	case BPF_JLT: return bpf_range_jlt(is32, dst, src, dt, st, df, sf);
	case BPF_JLE: return bpf_range_jle(is32, dst, src, dt, st, df, sf);
	case BPF_JSGT: return bpf_range_jsgt(is32, dst, src, dt, st, df, sf);
	case BPF_JSGE: return bpf_range_jsge(is32, dst, src, dt, st, df, sf);
	case BPF_JSLT: return bpf_range_jslt(is32, dst, src, dt, st, df, sf);
	case BPF_JSLE: return bpf_range_jsle(is32, dst, src, dt, st, df, sf);
	case BPF_JSET: return bpf_range_jset(is32, dst, src, dt, st, df, sf);
	default: /* not a condition: both edges possible, nothing learned */
		*dt = *dst;
		*st = *src;
		*df = *dst;
		*sf = *src;
		return BPF_BR_TAKEN | BPF_BR_FALLTHROUGH;
	}
}

BPF_RANGE_OP int bpf_range_jmp_eval(unsigned op, bool is32, const struct bpf_scalar *dst,
				    const struct bpf_scalar *src)
{
	struct bpf_scalar dt, st, df, sf;
	int r = bpf_range_jmp_refine(op, is32, dst, src, &dt, &st, &df, &sf);

	if (r == BPF_BR_TAKEN)
		return 1;
	if (r == BPF_BR_FALLTHROUGH)
		return 0;
	return -1;
}
