/* SPDX-License-Identifier: MIT */
/*
 * range_alu.c - abstract ALU operators of the scalar domain.
 *
 * Each operator computes the components it can bound directly (the tnum with
 * tnum.c, and the bounds by interval arithmetic with explicit overflow checks),
 * leaves the others unknown, and finishes with bpf_range_sync() so the
 * components tighten each other. Interval rules rely on monotonicity; whenever
 * an operation can wrap, the affected component is set to "unknown", which is
 * always sound. The 32-bit forms work on the low halves and return the
 * zero-extended result, like BPF_ALU instructions. Contract: bpf_range.h.
 */
#include "bpf_range.h"

#define U32_MAX 0xffffffffu

static inline uint64_t umax64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t umin64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline int64_t smax64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t smin64(int64_t a, int64_t b) { return a < b ? a : b; }

/* |x| as an unsigned number (INT64_MIN -> 2^63) */
static inline uint64_t mag64(int64_t x) { return x < 0 ? 0 - (uint64_t)x : (uint64_t)x; }

/* A fully unknown 64-bit result with the given tnum. */
static inline void from_tnum64(struct bpf_scalar *o, struct bpf_tnum t)
{
	bpf_range_unknown(o);
	o->t = t;
}

/* The zero-extended result of a 32-bit operation: tnum on the low half, u32 and
 * s32 bounds; the 64-bit view is [u32min, u32max] because the upper half is 0. */
static inline void from32(struct bpf_scalar *o, struct bpf_tnum t, uint32_t umin, uint32_t umax,
			  int32_t smin, int32_t smax)
{
	bpf_range_unknown(o);
	o->t = bpf_tnum_cast(t, 4);
	o->u32min = umin;
	o->u32max = umax;
	o->s32min = smin;
	o->s32max = smax;
	o->umin = 0;
	o->umax = U32_MAX;
	o->smin = 0;
	o->smax = U32_MAX;
	bpf_range_sync(o);
}

/* Exact result when both operands are constants (and the caller's concrete
 * function is total), used by the operators whose interval rules are loose. */
static inline bool both_const(const struct bpf_scalar *a, const struct bpf_scalar *b, uint64_t *x,
			      uint64_t *y)
{
	return bpf_range_is_const(a, x) && bpf_range_is_const(b, y);
}

/* ---------------- add / sub ---------------- */

BPF_RANGE_OP void bpf_range_add64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	uint64_t lo, hi;
	uint32_t lo32, hi32;

	bpf_range_unknown(&r);
	r.t = bpf_tnum_add(a->t, b->t);
	/* unsigned: if the largest sum does not wrap, no sum wraps */
	lo = a->umin + b->umin;
	hi = a->umax + b->umax;
	if (hi >= a->umax && lo >= a->umin) {
		r.umin = lo;
		r.umax = hi;
	}
	/* signed: both extreme sums must be free of signed overflow */
	if (!__builtin_add_overflow(a->smin, b->smin, &r.smin) &&
	    !__builtin_add_overflow(a->smax, b->smax, &r.smax)) {
		/* keep */
	} else {
		r.smin = INT64_MIN;
		r.smax = INT64_MAX;
	}
	/* the low half of a sum is the 32-bit sum of the low halves */
	lo32 = a->u32min + b->u32min;
	hi32 = a->u32max + b->u32max;
	if (hi32 >= a->u32max && lo32 >= a->u32min) {
		r.u32min = lo32;
		r.u32max = hi32;
	}
	if (__builtin_add_overflow(a->s32min, b->s32min, &r.s32min) ||
	    __builtin_add_overflow(a->s32max, b->s32max, &r.s32max)) {
		r.s32min = INT32_MIN;
		r.s32max = INT32_MAX;
	}
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_add32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	uint32_t lo = a->u32min + b->u32min, hi = a->u32max + b->u32max;
	uint32_t umin = 0, umax = U32_MAX;
	int32_t smin, smax;

	if (hi >= a->u32max && lo >= a->u32min) {
		umin = lo;
		umax = hi;
	}
	if (__builtin_add_overflow(a->s32min, b->s32min, &smin) ||
	    __builtin_add_overflow(a->s32max, b->s32max, &smax)) {
		smin = INT32_MIN;
		smax = INT32_MAX;
	}
	from32(out, bpf_tnum_add(a->t, b->t), umin, umax, smin, smax);
}

BPF_RANGE_OP void bpf_range_sub64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	bpf_range_unknown(&r);
	r.t = bpf_tnum_sub(a->t, b->t);
	/* x - y >= a.umin - b.umax >= 0 means nothing wraps below zero */
	if (a->umin >= b->umax) {
		r.umin = a->umin - b->umax;
		r.umax = a->umax - b->umin;
	}
	if (__builtin_sub_overflow(a->smin, b->smax, &r.smin) ||
	    __builtin_sub_overflow(a->smax, b->smin, &r.smax)) {
		r.smin = INT64_MIN;
		r.smax = INT64_MAX;
	}
	if (a->u32min >= b->u32max) {
		r.u32min = a->u32min - b->u32max;
		r.u32max = a->u32max - b->u32min;
	}
	if (__builtin_sub_overflow(a->s32min, b->s32max, &r.s32min) ||
	    __builtin_sub_overflow(a->s32max, b->s32min, &r.s32max)) {
		r.s32min = INT32_MIN;
		r.s32max = INT32_MAX;
	}
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_sub32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	uint32_t umin = 0, umax = U32_MAX;
	int32_t smin, smax;

	if (a->u32min >= b->u32max) {
		umin = a->u32min - b->u32max;
		umax = a->u32max - b->u32min;
	}
	if (__builtin_sub_overflow(a->s32min, b->s32max, &smin) ||
	    __builtin_sub_overflow(a->s32max, b->s32min, &smax)) {
		smin = INT32_MIN;
		smax = INT32_MAX;
	}
	from32(out, bpf_tnum_sub(a->t, b->t), umin, umax, smin, smax);
}

/* ---------------- mul ---------------- */

BPF_RANGE_OP void bpf_range_mul64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	bpf_range_unknown(&r);
	r.t = bpf_tnum_mul(a->t, b->t);
	/* unsigned product is monotone in both operands while it does not wrap */
	if (a->umax == 0 || b->umax <= ~0ull / a->umax) {
		r.umin = a->umin * b->umin;
		r.umax = a->umax * b->umax;
	}
	/* signed: with both operands in (-2^31, 2^31) no product overflows, and the
	 * extremes of a bilinear function over a box are at its corners */
	if (mag64(a->smin) < (1ull << 31) && mag64(a->smax) < (1ull << 31) &&
	    mag64(b->smin) < (1ull << 31) && mag64(b->smax) < (1ull << 31)) {
		int64_t p1 = a->smin * b->smin, p2 = a->smin * b->smax;
		int64_t p3 = a->smax * b->smin, p4 = a->smax * b->smax;

		r.smin = smin64(smin64(p1, p2), smin64(p3, p4));
		r.smax = smax64(smax64(p1, p2), smax64(p3, p4));
	}
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_mul32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	uint32_t umin = 0, umax = U32_MAX;
	int32_t smin = INT32_MIN, smax = INT32_MAX;
	uint64_t hi = (uint64_t)a->u32max * b->u32max;
	/* 32x32 signed products are exact in 64 bits */
	int64_t p1 = (int64_t)a->s32min * b->s32min, p2 = (int64_t)a->s32min * b->s32max;
	int64_t p3 = (int64_t)a->s32max * b->s32min, p4 = (int64_t)a->s32max * b->s32max;
	int64_t lo_s = smin64(smin64(p1, p2), smin64(p3, p4));
	int64_t hi_s = smax64(smax64(p1, p2), smax64(p3, p4));

	if (hi <= U32_MAX) {
		umin = a->u32min * b->u32min;
		umax = (uint32_t)hi;
	}
	if (lo_s >= INT32_MIN && hi_s <= INT32_MAX) {
		smin = (int32_t)lo_s;
		smax = (int32_t)hi_s;
	}
	from32(out, bpf_tnum_mul(bpf_tnum_cast(a->t, 4), bpf_tnum_cast(b->t, 4)), umin, umax, smin,
	       smax);
}

/* ---------------- unsigned div / mod ---------------- */

/* x / y for y in [ymin, ymax], x in [xmin, xmax], with x / 0 = 0:
 * the quotient never exceeds x, and for y >= 1 it is monotone (up in x, down in y). */
BPF_RANGE_OP void bpf_range_div64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	bpf_range_unknown(&r);
	if (b->umax == 0) {
		bpf_range_const(&r, 0);
	} else if (b->umin == 0) {
		r.umin = 0;
		r.umax = a->umax;
	} else {
		r.umin = a->umin / b->umax;
		r.umax = a->umax / b->umin;
	}
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_div32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	if (b->u32max == 0)
		from32(out, bpf_tnum_const(0), 0, 0, 0, 0);
	else if (b->u32min == 0)
		from32(out, bpf_tnum_range(0, a->u32max), 0, a->u32max, INT32_MIN, INT32_MAX);
	else
		from32(out, bpf_tnum_range(a->u32min / b->u32max, a->u32max / b->u32min),
		       a->u32min / b->u32max, a->u32max / b->u32min, INT32_MIN, INT32_MAX);
}

/* x % y with x % 0 = x: the remainder is at most x, and below y when y != 0;
 * when x < y the remainder is x itself. */
BPF_RANGE_OP void bpf_range_mod64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	uint64_t x, y;

	if (both_const(a, b, &x, &y)) {
		bpf_range_const(&r, y ? x % y : x);
	} else if (b->umax == 0 || a->umax < b->umin) {
		r = *a;
	} else {
		bpf_range_unknown(&r);
		r.umax = b->umin == 0 ? a->umax : umin64(a->umax, b->umax - 1);
		bpf_range_sync(&r);
	}
	*out = r;
}

BPF_RANGE_OP void bpf_range_mod32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	uint32_t x = a->u32min, y = b->u32min, hi;

	if (a->u32min == a->u32max && b->u32min == b->u32max) {
		uint32_t v = y ? x % y : x;
		from32(out, bpf_tnum_const(v), v, v, INT32_MIN, INT32_MAX);
	} else if (b->u32max == 0 || a->u32max < b->u32min) {
		bpf_range_mov32(out, a);
	} else {
		hi = b->u32min == 0 ? a->u32max : (a->u32max < b->u32max - 1 ? a->u32max : b->u32max - 1);
		from32(out, bpf_tnum_range(0, hi), 0, hi, INT32_MIN, INT32_MAX);
	}
}

/* ---------------- signed div / mod ---------------- */

/* Truncating signed division with the ISA's special cases. */
static inline int64_t sdiv64c(int64_t x, int64_t y)
{
	if (y == 0)
		return 0;
	if (y == -1)
		return (int64_t)(0 - (uint64_t)x); /* INT64_MIN / -1 wraps to INT64_MIN */
	return x / y;
}

static inline int64_t smod64c(int64_t x, int64_t y)
{
	if (y == 0)
		return x;
	if (y == -1)
		return 0;
	return x % y;
}

/* Range of x / y over the box [xmin,xmax] x [ymin,ymax] where y keeps one sign
 * and never is 0 or (x == INT_MIN and y == -1): truncating division is then
 * monotone in each argument, so the corners give the extremes. */
static inline void sdiv_corners(int64_t xmin, int64_t xmax, int64_t ymin, int64_t ymax, int64_t *lo,
				int64_t *hi)
{
	int64_t c1 = sdiv64c(xmin, ymin), c2 = sdiv64c(xmin, ymax);
	int64_t c3 = sdiv64c(xmax, ymin), c4 = sdiv64c(xmax, ymax);

	*lo = smin64(*lo, smin64(smin64(c1, c2), smin64(c3, c4)));
	*hi = smax64(*hi, smax64(smax64(c1, c2), smax64(c3, c4)));
}

/* Signed quotient bounds for operands in [xmin,xmax] / [ymin,ymax] (a 32-bit
 * caller passes 32-bit ranges and `min` = INT32_MIN). Returns false if the
 * quotient may overflow (min / -1), meaning "unknown".
 *
 * Contract (the `sdiv_bounds` obligation of `axiomdbg prove verifier` proves
 * the compiled function against it, for min = INT64_MIN and, with every
 * argument in [INT32_MIN, INT32_MAX], for min = INT32_MIN): if it returns
 * true, then for every x in [xmin,xmax] and y in [ymin,ymax]
 *   - (x, y) is not (min, -1), and
 *   - *lo <= q <= *hi, q the eBPF quotient of x by y at the caller's width
 *     (0 for y == 0, -x for y == -1), sign-extended.
 * (The bounds also fit the caller's width, but sdiv32 checks that itself.)
 * It is a separate, non-inlined function so that the operators' proofs use
 * this contract instead of re-deriving the division corner argument (a
 * min/max over eight corner quotients that Z3 could not finish at 64 bits);
 * the compiled function is proved against it on its own. */
BPF_RANGE_OP bool bpf_sdiv_bounds(int64_t xmin, int64_t xmax, int64_t ymin, int64_t ymax, int64_t min,
				  int64_t *lo, int64_t *hi)
{
	if (xmin == min && ymin <= -1 && ymax >= -1)
		return false;
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	if (ymax >= 1)
		sdiv_corners(xmin, xmax, smax64(ymin, 1), ymax, lo, hi);
	if (ymin <= -1)
		sdiv_corners(xmin, xmax, ymin, smin64(ymax, -1), lo, hi);
	if (ymin <= 0 && ymax >= 0) { /* x / 0 = 0 */
		*lo = smin64(*lo, 0);
		*hi = smax64(*hi, 0);
	}
	return true;
}

BPF_RANGE_OP void bpf_range_sdiv64(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	uint64_t x, y;
	int64_t lo, hi;

	if (both_const(a, b, &x, &y)) {
		bpf_range_const(&r, (uint64_t)sdiv64c((int64_t)x, (int64_t)y));
	} else {
		bpf_range_unknown(&r);
		if (bpf_sdiv_bounds(a->smin, a->smax, b->smin, b->smax, INT64_MIN, &lo, &hi)) {
			r.smin = lo;
			r.smax = hi;
		}
		bpf_range_sync(&r);
	}
	*out = r;
}

BPF_RANGE_OP void bpf_range_sdiv32(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	int64_t lo, hi;

	if (a->s32min == a->s32max && b->s32min == b->s32max) {
		int32_t x = a->s32min, y = b->s32min, v;

		v = y == 0 ? 0 : y == -1 ? (int32_t)(0 - (uint32_t)x) : x / y;
		from32(out, bpf_tnum_const((uint32_t)v), (uint32_t)v, (uint32_t)v, v, v);
	} else if (bpf_sdiv_bounds(a->s32min, a->s32max, b->s32min, b->s32max, INT32_MIN, &lo, &hi) &&
		   lo >= INT32_MIN && hi <= INT32_MAX) {
		/* |quotient| <= |x| <= 2^31 - 1 here, so lo/hi always fit in s32; the
		 * test makes the casts below safe without relying on that argument
		 * (which bpf_sdiv_bounds's contract then does not have to carry) */
		from32(out, bpf_tnum_range(0, U32_MAX), 0, U32_MAX, (int32_t)lo, (int32_t)hi);
	} else {
		from32(out, bpf_tnum_range(0, U32_MAX), 0, U32_MAX, INT32_MIN, INT32_MAX);
	}
}

/* Signed remainder: takes the sign of x (or is 0), |r| <= |x|, and |r| < |y|
 * when y != 0; when y may be 0 the result may be x itself (already covered by
 * |r| <= |x| with the sign of x). */
static inline void smod_bounds(int64_t xmin, int64_t xmax, int64_t ymin, int64_t ymax, int64_t *lo,
			       int64_t *hi)
{
	uint64_t bound = ~0ull;

	if (ymin > 0 || ymax < 0) /* y is never 0 */
		bound = umax64(mag64(ymin), mag64(ymax)) - 1;
	*lo = xmin >= 0 ? 0 : xmin;
	*hi = xmax <= 0 ? 0 : xmax;
	if (bound < (1ull << 63)) {
		*lo = smax64(*lo, -(int64_t)bound);
		*hi = smin64(*hi, (int64_t)bound);
	}
}

BPF_RANGE_OP void bpf_range_smod64(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	uint64_t x, y;

	if (both_const(a, b, &x, &y)) {
		bpf_range_const(&r, (uint64_t)smod64c((int64_t)x, (int64_t)y));
	} else {
		bpf_range_unknown(&r);
		smod_bounds(a->smin, a->smax, b->smin, b->smax, &r.smin, &r.smax);
		bpf_range_sync(&r);
	}
	*out = r;
}

BPF_RANGE_OP void bpf_range_smod32(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	int64_t lo, hi;

	if (a->s32min == a->s32max && b->s32min == b->s32max) {
		int32_t x = a->s32min, y = b->s32min, v;

		v = y == 0 ? x : y == -1 ? 0 : x % y;
		from32(out, bpf_tnum_const((uint32_t)v), (uint32_t)v, (uint32_t)v, v, v);
		return;
	}
	smod_bounds(a->s32min, a->s32max, b->s32min, b->s32max, &lo, &hi);
	from32(out, bpf_tnum_range(0, U32_MAX), 0, U32_MAX, (int32_t)lo, (int32_t)hi);
}

/* ---------------- bitwise ---------------- */

BPF_RANGE_OP void bpf_range_and64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	from_tnum64(&r, bpf_tnum_and(a->t, b->t));
	r.umax = umin64(a->umax, b->umax); /* x & y <= min(x, y) */
	r.u32max = a->u32max < b->u32max ? a->u32max : b->u32max;
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_and32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	uint32_t hi = a->u32max < b->u32max ? a->u32max : b->u32max;

	from32(out, bpf_tnum_and(a->t, b->t), 0, hi, INT32_MIN, INT32_MAX);
}

BPF_RANGE_OP void bpf_range_or64(struct bpf_scalar *out, const struct bpf_scalar *a,
				 const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	from_tnum64(&r, bpf_tnum_or(a->t, b->t));
	r.umin = umax64(a->umin, b->umin); /* x | y >= max(x, y) */
	r.u32min = a->u32min > b->u32min ? a->u32min : b->u32min;
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_or32(struct bpf_scalar *out, const struct bpf_scalar *a,
				 const struct bpf_scalar *b)
{
	uint32_t lo = a->u32min > b->u32min ? a->u32min : b->u32min;

	from32(out, bpf_tnum_or(a->t, b->t), lo, U32_MAX, INT32_MIN, INT32_MAX);
}

BPF_RANGE_OP void bpf_range_xor64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;

	from_tnum64(&r, bpf_tnum_xor(a->t, b->t));
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_xor32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	from32(out, bpf_tnum_xor(a->t, b->t), 0, U32_MAX, INT32_MIN, INT32_MAX);
}

/* ---------------- shifts ---------------- */

/* The effective shift amounts (b & (width-1)) as a range [lo, hi]; the tnum of
 * the result is the union over that range (bpf_tnum_shift_union, tnum.c). */
static inline void shift_range(const struct bpf_scalar *b, unsigned width, unsigned *lo,
			       unsigned *hi)
{
	uint64_t m = width - 1;

	if ((b->t.mask & m) == 0) {
		*lo = *hi = (unsigned)(b->t.value & m);
	} else if (b->umax <= m) {
		*lo = (unsigned)b->umin;
		*hi = (unsigned)b->umax;
	} else {
		*lo = 0;
		*hi = (unsigned)m;
	}
}

BPF_RANGE_OP void bpf_range_lsh64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	unsigned lo, hi;

	shift_range(b, 64, &lo, &hi);
	from_tnum64(&r, bpf_tnum_shift_union(a->t, lo, hi, 0, 64));
	/* monotone while the largest value shifted the most does not lose bits */
	if (hi == 0 || (a->umax >> (64 - hi)) == 0) {
		r.umin = a->umin << lo;
		r.umax = a->umax << hi;
	}
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_lsh32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	unsigned lo, hi;
	struct bpf_tnum t;
	uint32_t umin = 0, umax = U32_MAX;

	shift_range(b, 32, &lo, &hi);
	t = bpf_tnum_cast(bpf_tnum_shift_union(bpf_tnum_cast(a->t, 4), lo, hi, 0, 32), 4);
	if (((uint64_t)a->u32max << hi) <= U32_MAX) {
		umin = a->u32min << lo;
		umax = a->u32max << hi;
	}
	from32(out, t, umin, umax, INT32_MIN, INT32_MAX);
}

BPF_RANGE_OP void bpf_range_rsh64(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	unsigned lo, hi;

	shift_range(b, 64, &lo, &hi);
	from_tnum64(&r, bpf_tnum_shift_union(a->t, lo, hi, 1, 64));
	r.umin = a->umin >> hi;
	r.umax = a->umax >> lo;
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_rsh32(struct bpf_scalar *out, const struct bpf_scalar *a,
				  const struct bpf_scalar *b)
{
	unsigned lo, hi;

	shift_range(b, 32, &lo, &hi);
	from32(out, bpf_tnum_shift_union(bpf_tnum_cast(a->t, 4), lo, hi, 1, 32), a->u32min >> hi,
	       a->u32max >> lo, INT32_MIN, INT32_MAX);
}

/* x >> k (arithmetic) is monotone in x, and moves toward 0 or -1 as k grows, so
 * the extremes are at (smin, lo|hi) and (smax, lo|hi). */
BPF_RANGE_OP void bpf_range_arsh64(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	struct bpf_scalar r;
	unsigned lo, hi;

	shift_range(b, 64, &lo, &hi);
	from_tnum64(&r, bpf_tnum_shift_union(a->t, lo, hi, 2, 64));
	r.smin = smin64(a->smin >> lo, a->smin >> hi);
	r.smax = smax64(a->smax >> lo, a->smax >> hi);
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_arsh32(struct bpf_scalar *out, const struct bpf_scalar *a,
				   const struct bpf_scalar *b)
{
	unsigned lo, hi;
	int32_t smin, smax;

	shift_range(b, 32, &lo, &hi);
	smin = (a->s32min >> lo) < (a->s32min >> hi) ? (a->s32min >> lo) : (a->s32min >> hi);
	smax = (a->s32max >> lo) > (a->s32max >> hi) ? (a->s32max >> lo) : (a->s32max >> hi);
	from32(out, bpf_tnum_shift_union(bpf_tnum_cast(a->t, 4), lo, hi, 2, 32), 0, U32_MAX, smin, smax);
}

/* ---------------- unary ---------------- */

BPF_RANGE_OP void bpf_range_neg64(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	struct bpf_scalar zero;

	bpf_range_const(&zero, 0);
	bpf_range_sub64(out, &zero, a);
}

BPF_RANGE_OP void bpf_range_neg32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	struct bpf_scalar zero;

	bpf_range_const(&zero, 0);
	bpf_range_sub32(out, &zero, a);
}

BPF_RANGE_OP void bpf_range_mov64(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	*out = *a;
}

BPF_RANGE_OP void bpf_range_mov32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	from32(out, a->t, a->u32min, a->u32max, a->s32min, a->s32max);
}

/* Byte swaps permute bits, so swapping value and mask separately is exact;
 * bounds then follow from the tnum in sync. */
static inline struct bpf_tnum tnum_bswap(struct bpf_tnum t, unsigned bits)
{
	if (bits == 16)
		return (struct bpf_tnum){ __builtin_bswap16((uint16_t)t.value),
					  __builtin_bswap16((uint16_t)t.mask) };
	if (bits == 32)
		return (struct bpf_tnum){ __builtin_bswap32((uint32_t)t.value),
					  __builtin_bswap32((uint32_t)t.mask) };
	return (struct bpf_tnum){ __builtin_bswap64(t.value), __builtin_bswap64(t.mask) };
}

static inline void swap_result(struct bpf_scalar *out, const struct bpf_scalar *a, unsigned bits)
{
	struct bpf_scalar r;

	from_tnum64(&r, tnum_bswap(a->t, bits));
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_le16(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	struct bpf_scalar r;

	if (a->umax <= 0xffff) { /* truncation is the identity */
		*out = *a;
		return;
	}
	from_tnum64(&r, bpf_tnum_cast(a->t, 2));
	bpf_range_sync(&r);
	*out = r;
}

BPF_RANGE_OP void bpf_range_le32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	bpf_range_mov32(out, a);
}

BPF_RANGE_OP void bpf_range_le64(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	*out = *a;
}

BPF_RANGE_OP void bpf_range_be16(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 16);
}

BPF_RANGE_OP void bpf_range_be32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 32);
}

BPF_RANGE_OP void bpf_range_be64(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 64);
}

BPF_RANGE_OP void bpf_range_bswap16(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 16);
}

BPF_RANGE_OP void bpf_range_bswap32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 32);
}

BPF_RANGE_OP void bpf_range_bswap64(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	swap_result(out, a, 64);
}

/* Sign extension of the low `n` bits: the low bits keep their tnum, the upper
 * bits copy bit n-1 (known if it is known, unknown otherwise). */
static inline struct bpf_tnum tnum_sext(struct bpf_tnum t, unsigned n)
{
	uint64_t low = (1ull << n) - 1, sign = 1ull << (n - 1);
	struct bpf_tnum r = { t.value & low, t.mask & low };

	if (r.mask & sign)
		r.mask |= ~low;
	else if (r.value & sign)
		r.value |= ~low;
	return r;
}

static inline void movsx64(struct bpf_scalar *out, const struct bpf_scalar *a, unsigned n)
{
	int64_t lim = (int64_t)1 << (n - 1);
	struct bpf_scalar r;

	if (a->smin >= -lim && a->smax < lim) { /* already a sign-extended value */
		*out = *a;
		return;
	}
	from_tnum64(&r, tnum_sext(a->t, n));
	r.smin = -lim;
	r.smax = lim - 1;
	bpf_range_sync(&r);
	*out = r;
}

static inline void movsx32(struct bpf_scalar *out, const struct bpf_scalar *a, unsigned n)
{
	int32_t lim = (int32_t)1 << (n - 1);

	if (a->s32min >= -lim && a->s32max < lim)
		bpf_range_mov32(out, a);
	else
		from32(out, tnum_sext(bpf_tnum_cast(a->t, 4), n), 0, U32_MAX, -lim, lim - 1);
}

BPF_RANGE_OP void bpf_range_movsx64_s8(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	movsx64(out, a, 8);
}

BPF_RANGE_OP void bpf_range_movsx64_s16(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	movsx64(out, a, 16);
}

BPF_RANGE_OP void bpf_range_movsx64_s32(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	movsx64(out, a, 32);
}

BPF_RANGE_OP void bpf_range_movsx32_s8(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	movsx32(out, a, 8);
}

BPF_RANGE_OP void bpf_range_movsx32_s16(struct bpf_scalar *out, const struct bpf_scalar *a)
{
	movsx32(out, a, 16);
}
