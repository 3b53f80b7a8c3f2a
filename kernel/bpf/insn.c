/* SPDX-License-Identifier: MIT */
/*
 * insn.c - which encodings are valid instructions (RFC 9669), and the structural
 * checks every program gets at load time whether or not it is verified. The
 * interpreter relies on these: after bpf_check_structure() it never meets an
 * unknown opcode, a jump outside the program or half a lddw.
 */
#include "bpf_internal.h"

#define BAD(...)                                   \
	do {                                       \
		snprintf(msg, msz, __VA_ARGS__);   \
		return -BPF_EINVAL;                \
	} while (0)

static int check_alu(const struct bpf_insn *in, char *msg, size_t msz)
{
	uint8_t op = BPF_OP(in->code), cls = BPF_CLASS(in->code);
	bool x = BPF_SRC(in->code) == BPF_X;

	switch (op) {
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_OR: case BPF_AND:
	case BPF_LSH: case BPF_RSH: case BPF_XOR: case BPF_ARSH:
		if (in->off != 0)
			BAD("reserved off=%d must be 0", in->off);
		break;
	case BPF_DIV: case BPF_MOD:
		if (in->off != 0 && in->off != 1)
			BAD("invalid off=%d for div/mod (0 unsigned, 1 signed)", in->off);
		break;
	case BPF_MOV:
		if (!x && in->off != 0)
			BAD("reserved off=%d must be 0", in->off);
		if (x && !(in->off == 0 || in->off == 8 || in->off == 16 ||
			   (in->off == 32 && cls == BPF_ALU64)))
			BAD("invalid movsx size off=%d", in->off);
		break;
	case BPF_NEG:
		if (x || in->off != 0 || in->imm != 0 || in->src_reg != 0)
			BAD("reserved fields of neg must be 0");
		return 0;
	case BPF_END:
		if (cls == BPF_ALU64 && x)
			BAD("invalid opcode 0x%02x", in->code);
		if (in->imm != 16 && in->imm != 32 && in->imm != 64)
			BAD("invalid byte swap width %d", in->imm);
		if (in->off != 0 || in->src_reg != 0)
			BAD("reserved fields of byte swap must be 0");
		return 0;
	default:
		BAD("invalid opcode 0x%02x", in->code);
	}
	if (x && in->imm != 0)
		BAD("reserved imm=%d must be 0", in->imm);
	if (!x && in->src_reg != 0)
		BAD("reserved src_reg=%d must be 0", in->src_reg);
	return 0;
}

static int check_jmp(const struct bpf_insn *in, char *msg, size_t msz)
{
	uint8_t op = BPF_OP(in->code), cls = BPF_CLASS(in->code);
	bool x = BPF_SRC(in->code) == BPF_X;

	switch (op) {
	case BPF_JA:
		if (x || in->src_reg || in->dst_reg)
			BAD("reserved fields of ja must be 0");
		if (cls == BPF_JMP && in->imm)
			BAD("reserved imm=%d of ja must be 0", in->imm);
		if (cls == BPF_JMP32 && in->off)
			BAD("reserved off=%d of ja32 must be 0", in->off);
		return 0;
	case BPF_CALL:
		if (cls != BPF_JMP || x)
			BAD("invalid opcode 0x%02x", in->code);
		if (in->dst_reg || in->off)
			BAD("reserved fields of call must be 0");
		if (in->src_reg == BPF_PSEUDO_KFUNC_CALL)
			BAD("kfunc calls are not supported");
		if (in->src_reg > BPF_PSEUDO_CALL)
			BAD("invalid call src_reg=%d", in->src_reg);
		return 0;
	case BPF_EXIT:
		if (cls != BPF_JMP || x)
			BAD("invalid opcode 0x%02x", in->code);
		if (in->dst_reg || in->src_reg || in->off || in->imm)
			BAD("reserved fields of exit must be 0");
		return 0;
	case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE:
	case BPF_JSGT: case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT: case BPF_JSLE:
		if (x && in->imm)
			BAD("reserved imm=%d must be 0", in->imm);
		if (!x && in->src_reg)
			BAD("reserved src_reg=%d must be 0", in->src_reg);
		return 0;
	default:
		BAD("invalid opcode 0x%02x", in->code);
	}
}

int bpf_insn_check(const struct bpf_insn *insns, uint32_t cnt, uint32_t i, char *msg, size_t msz)
{
	const struct bpf_insn *in = &insns[i];
	uint8_t cls = BPF_CLASS(in->code), sz = BPF_SIZE(in->code), mode = BPF_MODE(in->code);

	if (in->dst_reg > 10 || in->src_reg > 10)
		BAD("invalid register r%d", in->dst_reg > 10 ? in->dst_reg : in->src_reg);
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		return check_alu(in, msg, msz);
	case BPF_JMP:
	case BPF_JMP32:
		return check_jmp(in, msg, msz);
	case BPF_LD:
		if (mode == BPF_ABS || mode == BPF_IND)
			BAD("legacy packet access (ld_abs/ld_ind) is not supported");
		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			BAD("invalid opcode 0x%02x", in->code);
		if (i + 1 >= cnt)
			BAD("truncated lddw (no second half)");
		if (insns[i + 1].code || insns[i + 1].dst_reg || insns[i + 1].src_reg || insns[i + 1].off)
			BAD("invalid second half of lddw");
		if (in->off)
			BAD("reserved off=%d of lddw must be 0", in->off);
		if (in->src_reg > BPF_PSEUDO_MAP_IDX_VALUE)
			BAD("invalid lddw src_reg=%d", in->src_reg);
		if ((in->src_reg == BPF_PSEUDO_MAP_FD || in->src_reg == BPF_PSEUDO_MAP_IDX ||
		     in->src_reg == BPF_PSEUDO_FUNC) && insns[i + 1].imm)
			BAD("reserved imm of lddw second half must be 0");
		return 0;
	case BPF_LDX:
		if (mode == BPF_MEMSX && sz == BPF_DW)
			BAD("invalid opcode 0x%02x (ldxsdw)", in->code);
		if (mode != BPF_MEM && mode != BPF_MEMSX)
			BAD("invalid opcode 0x%02x", in->code);
		if (in->imm)
			BAD("reserved imm=%d must be 0", in->imm);
		return 0;
	case BPF_ST:
		if (mode != BPF_MEM)
			BAD("invalid opcode 0x%02x", in->code);
		if (in->src_reg)
			BAD("reserved src_reg=%d must be 0", in->src_reg);
		return 0;
	default: /* BPF_STX */
		if (mode == BPF_MEM) {
			if (in->imm)
				BAD("reserved imm=%d must be 0", in->imm);
			return 0;
		}
		if (mode != BPF_ATOMIC)
			BAD("invalid opcode 0x%02x", in->code);
		if (sz != BPF_W && sz != BPF_DW)
			BAD("invalid atomic operand size");
		switch (in->imm) {
		case BPF_ADD: case BPF_OR: case BPF_AND: case BPF_XOR:
		case BPF_ADD | BPF_FETCH: case BPF_OR | BPF_FETCH: case BPF_AND | BPF_FETCH:
		case BPF_XOR | BPF_FETCH: case BPF_XCHG: case BPF_CMPXCHG:
			return 0;
		default:
			BAD("invalid atomic operation imm=0x%x", (unsigned)in->imm);
		}
	}
}

/* Is insns[t] the second half of a lddw? A run of lddw-looking words is
 * ambiguous locally, so count back to the first word that is not a lddw
 * opcode: the run's parity then decides. */
static bool is_second_half(const struct bpf_insn *insns, uint32_t t)
{
	uint32_t n = 0;

	while (t > 0 && bpf_is_lddw(&insns[t - 1])) {
		t--;
		n++;
	}
	/* the word at the end of the run start is a first half; odd distance -> second half */
	return n % 2 == 1;
}

int bpf_check_structure(const struct bpf_insn *insns, uint32_t cnt, char *msg, size_t msz,
			uint32_t *bad_pc)
{
	uint32_t i;
	int err;

	*bad_pc = 0;
	if (cnt == 0)
		BAD("empty program");
	if (cnt > BPF_MAXINSNS)
		BAD("program too large (%u insns, max %u)", cnt, BPF_MAXINSNS);
	for (i = 0; i < cnt; i++) {
		*bad_pc = i;
		err = bpf_insn_check(insns, cnt, i, msg, msz);
		if (err)
			return err;
		if (bpf_is_lddw(&insns[i])) {
			i++;
			continue;
		}
	}
	for (i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		int64_t t;

		*bad_pc = i;
		if (bpf_is_lddw(in)) {
			if (in->src_reg == BPF_PSEUDO_FUNC) {
				t = (int64_t)i + in->imm + 1;
				if (t < 0 || t >= cnt)
					BAD("code address out of range (to %lld)", (long long)t);
			}
			i++;
			continue;
		}
		if (cls != BPF_JMP && cls != BPF_JMP32)
			continue;
		if (op == BPF_EXIT || (op == BPF_CALL && in->src_reg != BPF_PSEUDO_CALL))
			continue;
		t = op == BPF_CALL ? (int64_t)i + in->imm + 1 : bpf_jump_target(in, i);
		if (t < 0 || t >= cnt)
			BAD("jump out of range from insn %u to %lld", i, (long long)t);
		if (t > 0 && bpf_is_lddw(&insns[t - 1]) && is_second_half(insns, (uint32_t)t))
			BAD("jump into the middle of lddw at insn %lld", (long long)(t - 1));
	}
	return 0;
}
