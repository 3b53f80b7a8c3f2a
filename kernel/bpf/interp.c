/* SPDX-License-Identifier: MIT */
/*
 * interp.c - the eBPF interpreter (RFC 9669 semantics).
 *
 * Two modes share one loop:
 *   verified  the verifier proved every access safe: memory is touched directly;
 *   checked   (host-only unverified loads) every access, call depth, helper
 *             argument and atomic alignment is checked at run time, and an
 *             instruction budget stops endless loops, so no input crashes us.
 * Both run only programs that passed bpf_check_structure(), so every opcode is
 * valid and every jump lands inside the program.
 *
 * Each frame (bpf-to-bpf call level) owns MAX_BPF_STACK bytes; r10 of frame k
 * is the top of the buffer minus k * 512.
 */
#include "bpf_internal.h"

#define CHECKED_BUDGET (1ull << 25)

struct call_frame {
	uint32_t ret_pc;
	uint64_t saved[4]; /* r6-r9 */
};

bool bpf_run_mem_ok(const struct bpf_run_env *env, uint64_t addr, uint64_t size, bool write)
{
	uint32_t i;

	if (size == 0)
		return true;
	if (addr + size < addr)
		return false;
	if (addr >= (uintptr_t)env->stack_lo && addr + size <= (uintptr_t)env->stack_hi)
		return true;
	if (env->mem && addr >= (uintptr_t)env->mem && addr + size <= (uintptr_t)env->mem + env->mem_size)
		return !write || env->mem_writable;
	for (i = 0; i < env->prog->nr_maps; i++)
		if (bpf_map_value_region(env->prog->maps[i], (uintptr_t)addr, size))
			return true;
	return false;
}

static inline uint64_t load(uint64_t addr, unsigned size)
{
	const void *p = (const void *)(uintptr_t)addr;
	uint8_t b;
	uint16_t h;
	uint32_t w;
	uint64_t d;

	switch (size) {
	case 1: __builtin_memcpy(&b, p, 1); return b;
	case 2: __builtin_memcpy(&h, p, 2); return h;
	case 4: __builtin_memcpy(&w, p, 4); return w;
	default: __builtin_memcpy(&d, p, 8); return d;
	}
}

static inline void store(uint64_t addr, unsigned size, uint64_t v)
{
	void *p = (void *)(uintptr_t)addr;
	uint8_t b = (uint8_t)v;
	uint16_t h = (uint16_t)v;
	uint32_t w = (uint32_t)v;

	switch (size) {
	case 1: __builtin_memcpy(p, &b, 1); break;
	case 2: __builtin_memcpy(p, &h, 2); break;
	case 4: __builtin_memcpy(p, &w, 4); break;
	default: __builtin_memcpy(p, &v, 8); break;
	}
}

static inline uint64_t sext(uint64_t v, unsigned bytes)
{
	switch (bytes) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

static const unsigned size_bytes[4] = { 4, 2, 1, 8 }; /* BPF_W, BPF_H, BPF_B, BPF_DW */

static uint64_t atomic_op(uint64_t addr, bool dw, int32_t op, uint64_t src, uint64_t *r0)
{
	if (dw) {
		uint64_t *p = (uint64_t *)(uintptr_t)addr, exp;

		switch (op & ~BPF_FETCH) {
		case BPF_ADD: return __atomic_fetch_add(p, src, __ATOMIC_SEQ_CST);
		case BPF_OR: return __atomic_fetch_or(p, src, __ATOMIC_SEQ_CST);
		case BPF_AND: return __atomic_fetch_and(p, src, __ATOMIC_SEQ_CST);
		case BPF_XOR: return __atomic_fetch_xor(p, src, __ATOMIC_SEQ_CST);
		case BPF_XCHG & ~BPF_FETCH: return __atomic_exchange_n(p, src, __ATOMIC_SEQ_CST);
		default: /* cmpxchg: r0 receives the old value either way */
			exp = *r0;
			__atomic_compare_exchange_n(p, &exp, src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			*r0 = exp;
			return exp;
		}
	} else {
		uint32_t *p = (uint32_t *)(uintptr_t)addr, s = (uint32_t)src, exp;

		switch (op & ~BPF_FETCH) {
		case BPF_ADD: return __atomic_fetch_add(p, s, __ATOMIC_SEQ_CST);
		case BPF_OR: return __atomic_fetch_or(p, s, __ATOMIC_SEQ_CST);
		case BPF_AND: return __atomic_fetch_and(p, s, __ATOMIC_SEQ_CST);
		case BPF_XOR: return __atomic_fetch_xor(p, s, __ATOMIC_SEQ_CST);
		case BPF_XCHG & ~BPF_FETCH: return __atomic_exchange_n(p, s, __ATOMIC_SEQ_CST);
		default:
			exp = (uint32_t)*r0;
			__atomic_compare_exchange_n(p, &exp, s, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			*r0 = exp; /* zero-extended */
			return exp;
		}
	}
}

/* 64-bit ALU operation; `s` is the source operand value. */
static inline uint64_t alu64(uint8_t op, int16_t off, uint64_t d, uint64_t s)
{
	switch (op) {
	case BPF_ADD: return d + s;
	case BPF_SUB: return d - s;
	case BPF_MUL: return d * s;
	case BPF_DIV:
		if (off) /* sdiv: x/0 = 0, INT_MIN/-1 wraps */
			return s == 0 ? 0 : (int64_t)s == -1 ? 0 - d : (uint64_t)((int64_t)d / (int64_t)s);
		return s ? d / s : 0;
	case BPF_MOD:
		if (off)
			return s == 0 ? d : (int64_t)s == -1 ? 0 : (uint64_t)((int64_t)d % (int64_t)s);
		return s ? d % s : d;
	case BPF_OR: return d | s;
	case BPF_AND: return d & s;
	case BPF_LSH: return d << (s & 63);
	case BPF_RSH: return d >> (s & 63);
	case BPF_NEG: return 0 - d;
	case BPF_XOR: return d ^ s;
	case BPF_MOV: return off ? sext(s, (unsigned)off / 8) : s;
	case BPF_ARSH: return (uint64_t)((int64_t)d >> (s & 63));
	default: return d;
	}
}

static inline uint64_t alu32(uint8_t op, int16_t off, uint32_t d, uint32_t s)
{
	switch (op) {
	case BPF_ADD: return (uint32_t)(d + s);
	case BPF_SUB: return (uint32_t)(d - s);
	case BPF_MUL: return (uint32_t)(d * s);
	case BPF_DIV:
		if (off)
			return s == 0 ? 0 : (int32_t)s == -1 ? (uint32_t)(0 - d)
							   : (uint32_t)((int32_t)d / (int32_t)s);
		return s ? d / s : 0;
	case BPF_MOD:
		if (off)
			return s == 0 ? d : (int32_t)s == -1 ? 0 : (uint32_t)((int32_t)d % (int32_t)s);
		return s ? d % s : d;
	case BPF_OR: return d | s;
	case BPF_AND: return d & s;
	case BPF_LSH: return (uint32_t)(d << (s & 31));
	case BPF_RSH: return d >> (s & 31);
	case BPF_NEG: return (uint32_t)(0 - d);
	case BPF_XOR: return d ^ s;
	case BPF_MOV:
		return off == 8 ? (uint32_t)(int32_t)(int8_t)s : off == 16 ? (uint32_t)(int32_t)(int16_t)s : s;
	case BPF_ARSH: return (uint32_t)((int32_t)d >> (s & 31));
	default: return d;
	}
}

static inline bool cond(uint8_t op, bool is32, uint64_t d, uint64_t s)
{
	if (is32) {
		d = (uint32_t)d;
		s = (uint32_t)s;
	}
	int64_t sd = is32 ? (int32_t)d : (int64_t)d, ss = is32 ? (int32_t)s : (int64_t)s;

	switch (op) {
	case BPF_JEQ: return d == s;
	case BPF_JNE: return d != s;
	case BPF_JGT: return d > s;
	case BPF_JGE: return d >= s;
	case BPF_JLT: return d < s;
	case BPF_JLE: return d <= s;
	case BPF_JSGT: return sd > ss;
	case BPF_JSGE: return sd >= ss;
	case BPF_JSLT: return sd < ss;
	case BPF_JSLE: return sd <= ss;
	case BPF_JSET: return (d & s) != 0;
	default: return false;
	}
}

static int fail(struct bpf_run_env *env, uint32_t pc, int err, const char *msg)
{
	env->err = err;
	env->err_pc = pc;
	env->err_msg = msg;
	return err;
}

static int run(struct bpf_run_env *env, uint64_t *reg, uint64_t *r0)
{
	const struct bpf_prog *prog = env->prog;
	const struct bpf_insn *insns = prog->insns;
	struct call_frame frames[BPF_MAX_CALL_DEPTH];
	uint32_t depth = 0, pc = 0;
	const bool checked = env->checked;

	for (;;) {
		const struct bpf_insn *in = &insns[pc];
		uint8_t code = in->code, cls = BPF_CLASS(code), op = BPF_OP(code);
		uint64_t *dst = &reg[in->dst_reg];
		uint64_t src, addr;
		unsigned sz;

		if (checked && env->budget-- == 0)
			return fail(env, pc, -BPF_E2BIG, "instruction budget exhausted (endless loop?)");
		switch (cls) {
		case BPF_ALU64:
			if (op == BPF_END) { /* bswap */
				*dst = in->imm == 16 ? __builtin_bswap16((uint16_t)*dst)
				     : in->imm == 32 ? __builtin_bswap32((uint32_t)*dst)
						     : __builtin_bswap64(*dst);
				break;
			}
			src = BPF_SRC(code) == BPF_X ? reg[in->src_reg] : (uint64_t)(int64_t)in->imm;
			*dst = alu64(op, in->off, *dst, src);
			break;
		case BPF_ALU:
			if (op == BPF_END) {
				bool be = BPF_SRC(code) == BPF_TO_BE; /* all targets are little-endian */

				if (in->imm == 16)
					*dst = be ? __builtin_bswap16((uint16_t)*dst) : (uint16_t)*dst;
				else if (in->imm == 32)
					*dst = be ? __builtin_bswap32((uint32_t)*dst) : (uint32_t)*dst;
				else if (be)
					*dst = __builtin_bswap64(*dst);
				break;
			}
			src = BPF_SRC(code) == BPF_X ? reg[in->src_reg] : (uint64_t)(uint32_t)in->imm;
			*dst = alu32(op, in->off, (uint32_t)*dst, (uint32_t)src);
			break;
		case BPF_LD: /* lddw; map forms were resolved to constants at load */
			*dst = (uint32_t)in->imm | ((uint64_t)(uint32_t)insns[pc + 1].imm << 32);
			pc++;
			break;
		case BPF_LDX:
			sz = size_bytes[BPF_SIZE(code) >> 3];
			addr = reg[in->src_reg] + (uint64_t)(int64_t)in->off;
			if (checked && !bpf_run_mem_ok(env, addr, sz, false))
				return fail(env, pc, -BPF_EFAULT, "out-of-bounds load");
			*dst = load(addr, sz);
			if (BPF_MODE(code) == BPF_MEMSX)
				*dst = sext(*dst, sz);
			break;
		case BPF_ST:
		case BPF_STX:
			sz = size_bytes[BPF_SIZE(code) >> 3];
			addr = *dst + (uint64_t)(int64_t)in->off;
			if (checked && !bpf_run_mem_ok(env, addr, sz, true))
				return fail(env, pc, -BPF_EFAULT, "out-of-bounds store");
			if (cls == BPF_ST) {
				store(addr, sz, (uint64_t)(int64_t)in->imm);
			} else if (BPF_MODE(code) == BPF_MEM) {
				store(addr, sz, reg[in->src_reg]);
			} else {
				uint64_t old;

				if (checked && (addr & (sz - 1)))
					return fail(env, pc, -BPF_EFAULT, "misaligned atomic access");
				old = atomic_op(addr, sz == 8, in->imm, reg[in->src_reg], &reg[0]);
				if ((in->imm & BPF_FETCH) && in->imm != BPF_CMPXCHG)
					reg[in->src_reg] = old;
			}
			break;
		case BPF_JMP:
		case BPF_JMP32:
			if (op == BPF_JA) {
				pc = (uint32_t)bpf_jump_target(in, pc);
				continue;
			}
			if (op == BPF_CALL) {
				if (in->src_reg == BPF_PSEUDO_CALL) {
					if (depth + 1 >= BPF_MAX_CALL_DEPTH)
						return fail(env, pc, -BPF_E2BIG, "call stack too deep");
					frames[depth].ret_pc = pc + 1;
					__builtin_memcpy(frames[depth].saved, &reg[6], 4 * 8);
					depth++;
					reg[10] -= MAX_BPF_STACK;
					pc = pc + (uint32_t)in->imm + 1;
					continue;
				}
				reg[0] = bpf_helper_call(env, (uint32_t)in->imm, &reg[1]);
				if (env->err)
					return fail(env, pc, env->err, env->err_msg);
				break;
			}
			if (op == BPF_EXIT) {
				if (depth == 0) {
					*r0 = reg[0];
					return 0;
				}
				depth--;
				__builtin_memcpy(&reg[6], frames[depth].saved, 4 * 8);
				reg[10] += MAX_BPF_STACK;
				pc = frames[depth].ret_pc;
				continue;
			}
			src = BPF_SRC(code) == BPF_X ? reg[in->src_reg] : (uint64_t)(int64_t)in->imm;
			if (cond(op, cls == BPF_JMP32, *dst, src)) {
				pc = (uint32_t)bpf_jump_target(in, pc);
				continue;
			}
			break;
		}
		pc++;
		if (checked && pc >= prog->insn_cnt)
			return fail(env, pc, -BPF_EFAULT, "fell off the end of the program");
	}
}

int bpf_interp_run(const struct bpf_prog *prog, void *ctx, size_t ctx_size, uint64_t *r0,
		   char *errbuf, size_t errsz)
{
	struct bpf_run_env env;
	uint64_t reg[MAX_BPF_REG];
	uint64_t local_stack[MAX_BPF_STACK / 8];
	uint32_t depth = prog->verified ? prog->max_call_depth : BPF_MAX_CALL_DEPTH;
	uint8_t *stack;
	int err;

	if (depth == 0)
		depth = 1;
	stack = depth == 1 ? (uint8_t *)local_stack : bpf_zalloc((size_t)depth * MAX_BPF_STACK);
	if (!stack)
		return -BPF_ENOMEM;
	if (!prog->verified)
		memset(local_stack, 0, sizeof(local_stack)); /* deterministic garbage */
	memset(&env, 0, sizeof(env));
	memset(reg, 0, sizeof(reg));
	env.prog = prog;
	env.checked = !prog->verified;
	env.stack_lo = stack;
	env.stack_hi = stack + (size_t)depth * MAX_BPF_STACK;
	env.mem = ctx;
	env.mem_size = ctx_size;
	env.mem_writable = prog->type == BPF_PROG_TYPE_AXIOM_MEM;
	env.budget = CHECKED_BUDGET;
	reg[1] = (uint64_t)(uintptr_t)ctx;
	if (prog->type == BPF_PROG_TYPE_AXIOM_MEM)
		reg[2] = ctx_size;
	reg[10] = (uint64_t)(uintptr_t)env.stack_hi;
	err = run(&env, reg, r0);
	if (err && errbuf)
		snprintf(errbuf, errsz, "insn %u: %s", env.err_pc, env.err_msg ? env.err_msg : "error");
	if (stack != (uint8_t *)local_stack)
		kfree(stack);
	return err;
}
