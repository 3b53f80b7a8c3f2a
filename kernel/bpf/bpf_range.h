/* SPDX-License-Identifier: MIT */
/*
 * bpf_range.h - the verifier's abstract domain for scalars, and its operators.
 *
 * This is the interface `axiomdbg prove verifier` proves sound from the compiled
 * kernel binaries, so the rules below are a contract:
 *
 *   - every operator is one non-static, noinline function (BPF_RANGE_OP) in
 *     tnum.c, range_sync.c, range_alu.c or range_jmp.c;
 *   - states go in and out through pointers only; an output may alias an input
 *     (operators read all inputs before writing the output);
 *   - no globals, no allocation, no logging, no calls except to other operators
 *     declared here (and static inline helpers in those files).
 *
 * Abstract state (struct bpf_scalar). A concrete 64-bit value x is a MEMBER of a
 * state S when all of these hold:
 *     (x & ~S.t.mask) == S.t.value                 tristate number
 *     S.umin <= x <= S.umax                         unsigned 64
 *     S.smin <= (int64_t)x <= S.smax                signed 64
 *     S.u32min <= (uint32_t)x <= S.u32max           unsigned 32 (low half)
 *     S.s32min <= (int32_t)x <= S.s32max            signed 32 (low half)
 * A tnum is well formed when (value & mask) == 0. A state with no member is
 * EMPTY (an infeasible path); bpf_range_is_empty() detects the obvious cases.
 *
 * SOUNDNESS, the property to prove for each operator:
 *   ALU  op(out, a, b):  for all x member of a, y member of b,
 *                        concrete_op(x, y) is a member of out.
 *        (unary ops: for all x member of a, concrete_op(x) member of out.)
 *   sync(s):             every member of s before the call is a member after it.
 *   jmp refine:          see bpf_range_jmp_refine below.
 * Concrete semantics are RFC 9669's: 32-bit ALU results are zero-extended to
 * 64 bits; shift amounts are masked (& 63, & 31); unsigned x/0 = 0, x%0 = x;
 * signed x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0.
 * For 32-bit mod by zero the result is the zero-extended low half of x.
 *
 * All target architectures are little-endian, so le16/le32 truncate and
 * le64 is the identity, while be16/be32/be64 byte-swap (and truncate).
 */
#ifndef AXIOM_BPF_RANGE_H
#define AXIOM_BPF_RANGE_H

#include <stdbool.h>
#include <stdint.h>

#define BPF_RANGE_OP __attribute__((noinline))

struct bpf_tnum {
	uint64_t value; /* known bits (bits set in mask are 0 here) */
	uint64_t mask;  /* 1 = unknown bit */
};

struct bpf_scalar {
	struct bpf_tnum t;
	uint64_t umin, umax;
	int64_t smin, smax;
	uint32_t u32min, u32max;
	int32_t s32min, s32max;
};

/* ---- tnum.c: tristate numbers (Linux's tnum algorithms) ---- */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_const(uint64_t v);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_range(uint64_t min, uint64_t max); /* members of [min,max] */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_add(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_sub(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_mul(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_and(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_or(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_xor(struct bpf_tnum a, struct bpf_tnum b);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_lshift(struct bpf_tnum a, unsigned shift); /* shift < 64 */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_rshift(struct bpf_tnum a, unsigned shift); /* shift < 64 */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_arshift(struct bpf_tnum a, unsigned shift, unsigned width); /* width 32|64 */
/* union of the shifts of t by every amount in [lo, hi] (hi <= width-1); kind 0 lshift,
 * 1 rshift, 2 arshift of a width-bit quantity (32: zero-extended) */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_shift_union(struct bpf_tnum t, unsigned lo, unsigned hi, int kind,
						  unsigned width);
BPF_RANGE_OP struct bpf_tnum bpf_tnum_intersect(struct bpf_tnum a, struct bpf_tnum b); /* both hold */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_union(struct bpf_tnum a, struct bpf_tnum b);     /* either holds */
BPF_RANGE_OP struct bpf_tnum bpf_tnum_cast(struct bpf_tnum a, unsigned bytes);        /* truncate, zero-extend */
BPF_RANGE_OP bool bpf_tnum_in(struct bpf_tnum t, uint64_t x);

/* ---- range_sync.c: constructors, membership, consistency ---- */
/* s := the state whose only member is v */
BPF_RANGE_OP void bpf_range_const(struct bpf_scalar *s, uint64_t v);
/* s := every 64-bit value (top) */
BPF_RANGE_OP void bpf_range_unknown(struct bpf_scalar *s);
/* s := every value of a `bytes`-byte zero-extended load (1,2,4,8) */
BPF_RANGE_OP void bpf_range_unknown_bytes(struct bpf_scalar *s, unsigned bytes);
/* 1 if x is a member of s (definition above) */
BPF_RANGE_OP bool bpf_range_contains(const struct bpf_scalar *s, uint64_t x);
/* 1 if s certainly has no member (bounds crossed or tnum malformed) */
BPF_RANGE_OP bool bpf_range_is_empty(const struct bpf_scalar *s);
/* 1 if every member of small is a member of big (used by state pruning) */
BPF_RANGE_OP bool bpf_range_subset(const struct bpf_scalar *small, const struct bpf_scalar *big);
/* 1 if s has exactly one possible value, stored in *v */
BPF_RANGE_OP bool bpf_range_is_const(const struct bpf_scalar *s, uint64_t *v);
/* Tighten every component using the others (tnum <-> bounds, signed <->
 * unsigned, 32 <-> 64). Never removes a member. */
BPF_RANGE_OP void bpf_range_sync(struct bpf_scalar *s);
/* The steps of bpf_range_sync, each alone never removes a member. */
BPF_RANGE_OP void bpf_sync_tnum_to_bounds(struct bpf_scalar *s);
BPF_RANGE_OP void bpf_sync_deduce64(struct bpf_scalar *s);
BPF_RANGE_OP void bpf_sync_deduce32(struct bpf_scalar *s);
BPF_RANGE_OP void bpf_sync_64_to_32(struct bpf_scalar *s);
BPF_RANGE_OP void bpf_sync_32_to_64(struct bpf_scalar *s);
BPF_RANGE_OP void bpf_sync_bounds_to_tnum(struct bpf_scalar *s);
/* out := the smallest state of this domain containing the members of a and b */
BPF_RANGE_OP void bpf_range_join(struct bpf_scalar *out, const struct bpf_scalar *a,
				 const struct bpf_scalar *b);

/* ---- range_alu.c: ALU operators, out := op(a, b) ----
 * The *32 forms compute on the low 32 bits of both operands and produce the
 * zero-extended 32-bit result, exactly like BPF_ALU instructions. */
#define BPF_RANGE_BINOP(name)                                                                 \
	BPF_RANGE_OP void bpf_range_##name##64(struct bpf_scalar *out, const struct bpf_scalar *a, \
					     const struct bpf_scalar *b);                        \
	BPF_RANGE_OP void bpf_range_##name##32(struct bpf_scalar *out, const struct bpf_scalar *a, \
					     const struct bpf_scalar *b)
BPF_RANGE_BINOP(add);
BPF_RANGE_BINOP(sub);
BPF_RANGE_BINOP(mul);
BPF_RANGE_BINOP(div);  /* unsigned */
BPF_RANGE_BINOP(mod);  /* unsigned */
BPF_RANGE_BINOP(sdiv); /* signed */
BPF_RANGE_BINOP(smod); /* signed */
/* bounds of the signed quotients of [xmin,xmax] by [ymin,ymax] for sdiv64 (min =
 * INT64_MIN) and sdiv32 (32-bit ranges, min = INT32_MIN); false: unknown (the box
 * holds min / -1). Contract in range_alu.c. */
BPF_RANGE_OP bool bpf_sdiv_bounds(int64_t xmin, int64_t xmax, int64_t ymin, int64_t ymax, int64_t min,
				  int64_t *lo, int64_t *hi);
BPF_RANGE_BINOP(and);
BPF_RANGE_BINOP(or);
BPF_RANGE_BINOP(xor);
BPF_RANGE_BINOP(lsh);  /* b is the shift amount, masked like the ISA */
BPF_RANGE_BINOP(rsh);
BPF_RANGE_BINOP(arsh);
#undef BPF_RANGE_BINOP

/* unary: out := op(a) */
BPF_RANGE_OP void bpf_range_neg64(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_neg32(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_mov64(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_mov32(struct bpf_scalar *out, const struct bpf_scalar *a); /* zero-extend low half */
/* byte-order operations: le16/le32 truncate, le64 = mov64; beN and bswapN swap the
 * low N bits' bytes and zero-extend (beN == bswapN on little-endian targets) */
BPF_RANGE_OP void bpf_range_le16(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_le32(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_le64(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_be16(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_be32(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_be64(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_bswap16(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_bswap32(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_bswap64(struct bpf_scalar *out, const struct bpf_scalar *a);
/* sign-extending moves: movsx64_sN: sign-extend the low N bits to 64 bits;
 * movsx32_sN (ALU32 movsx): sign-extend to 32 bits, then zero-extend */
BPF_RANGE_OP void bpf_range_movsx64_s8(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_movsx64_s16(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_movsx64_s32(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_movsx32_s8(struct bpf_scalar *out, const struct bpf_scalar *a);
BPF_RANGE_OP void bpf_range_movsx32_s16(struct bpf_scalar *out, const struct bpf_scalar *a);

/* ---- range_jmp.c: conditional jumps ----
 * Condition codes are the BPF_OP() values of the jump (BPF_JEQ .. BPF_JSLE,
 * BPF_JSET). For `if (dst OP src) goto T`:
 *
 *   int bpf_range_jmp_refine(op, is32, dst, src, dst_t, src_t, dst_f, src_f)
 *
 * writes the refined states of both operands on the taken (dst_t, src_t) and
 * fall-through (dst_f, src_f) edges and returns a mask: bit 0 (BPF_BR_TAKEN)
 * when the taken edge may be feasible, bit 1 (BPF_BR_FALLTHROUGH) when the
 * fall-through edge may be. For the (reg, imm) form pass a constant state
 * (bpf_range_const of the sign-extended imm) as src.
 * is32 compares the low 32 bits (JMP32 class).
 *
 * SOUNDNESS: for all x member of dst and y member of src:
 *   if cond(x, y) holds: bit 0 is set, x member of dst_t, y member of src_t;
 *   otherwise:           bit 1 is set, x member of dst_f, y member of src_f.
 * Outputs must not alias inputs; states of an infeasible edge are unspecified.
 * The per-condition functions have the same contract with op fixed.
 * bpf_range_jmp_eval returns 1 (always taken), 0 (never taken) or -1 (unknown).
 */
#define BPF_BR_TAKEN 1
#define BPF_BR_FALLTHROUGH 2
#define BPF_RANGE_JMPOP(name)                                                                      \
	BPF_RANGE_OP int bpf_range_##name(bool is32, const struct bpf_scalar *dst,                    \
					  const struct bpf_scalar *src, struct bpf_scalar *dst_t,       \
					  struct bpf_scalar *src_t, struct bpf_scalar *dst_f,           \
					  struct bpf_scalar *src_f)
BPF_RANGE_JMPOP(jeq);
BPF_RANGE_JMPOP(jne);
BPF_RANGE_JMPOP(jgt);
BPF_RANGE_JMPOP(jge);
BPF_RANGE_JMPOP(jlt);
BPF_RANGE_JMPOP(jle);
BPF_RANGE_JMPOP(jsgt);
BPF_RANGE_JMPOP(jsge);
BPF_RANGE_JMPOP(jslt);
BPF_RANGE_JMPOP(jsle);
BPF_RANGE_JMPOP(jset);
#undef BPF_RANGE_JMPOP
BPF_RANGE_OP int bpf_range_jmp_refine(unsigned op, bool is32, const struct bpf_scalar *dst,
				      const struct bpf_scalar *src, struct bpf_scalar *dst_t,
				      struct bpf_scalar *src_t, struct bpf_scalar *dst_f,
				      struct bpf_scalar *src_f);
BPF_RANGE_OP int bpf_range_jmp_eval(unsigned op, bool is32, const struct bpf_scalar *dst,
				    const struct bpf_scalar *src);

#endif /* AXIOM_BPF_RANGE_H */
