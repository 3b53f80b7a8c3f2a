/* SPDX-License-Identifier: MIT */
/*
 * verifier.c - the eBPF verifier.
 *
 * Two passes:
 *  1. check_cfg(): structure (valid instructions, jump targets, lddw halves),
 *     subprograms (targets of bpf-to-bpf calls; jumps stay inside one; each ends
 *     in exit or ja), back-edges (rejected in the embedded profile),
 *     reachability, and register liveness for pruning.
 *  2. do_check(): abstract interpretation over every path. Each register has a
 *     type (scalar, ctx, stack, map, map value, map-value-or-null, mem, code);
 *     scalars and the variable part of pointer offsets carry a struct
 *     bpf_scalar (tnum + u64/s64/u32/s32 bounds) updated ONLY through the pure
 *     operators of bpf_range.h. Branches are explored depth first from a stack
 *     of pending states; at prune points (jump targets, fall-throughs, return
 *     sites) a state covered by an already explored state is dropped, which
 *     keeps branchy programs near-linear. An ancestor equal to the current state
 *     on the current path is an endless loop.
 *
 * Messages: every rejection is "<insn>: <reason>" in the log; the error is
 * -EINVAL for malformed programs, -EACCES for unsafe ones, -E2BIG for too
 * complex ones, -ENOMEM when the verifier runs out of memory.
 */
#include "bpf_internal.h"

enum reg_type {
	NOT_INIT = 0,
	SCALAR,
	PTR_TO_CTX,
	PTR_TO_STACK,
	CONST_PTR_TO_MAP,
	PTR_TO_MAP_VALUE,
	PTR_TO_MAP_VALUE_OR_NULL,
	PTR_TO_MEM,
	PTR_TO_CODE,
};

static const char *const type_name[] = {
	"uninit", "scalar", "ctx", "fp", "map_ptr", "map_value", "map_value_or_null", "mem", "code",
};

struct vreg {
	uint8_t type;
	uint8_t frameno;       /* PTR_TO_STACK: which frame's stack */
	uint8_t precise;       /* stored states: this scalar's range matters (see mark_precise) */
	int32_t off;           /* fixed part of a pointer's offset; PTR_TO_CODE: target pc */
	uint32_t id;           /* PTR_TO_MAP_VALUE_OR_NULL: null-check identity */
	uint32_t size;         /* bytes reachable from offset 0 (map value, mem) */
	struct bpf_map *map;
	struct bpf_scalar v;   /* scalar value, or a pointer's variable offset */
};

enum { STACK_INVALID = 0, STACK_MISC, STACK_SPILL };

/* Stack slot k covers [fp - 8(k+1), fp - 8k). Slots are allocated from the top
 * as the program touches them, so shallow frames stay small. */
struct vframe {
	struct vreg regs[MAX_BPF_REG];
	uint32_t callsite; /* insn of the call that created this frame */
	uint32_t entry;    /* first insn of this frame's subprogram */
	uint32_t nslots;
	uint8_t *stype;    /* nslots * 8 byte states */
	struct vreg *spill; /* nslots spilled registers */
};

struct vstate {
	uint32_t nframes;
	struct vframe *f[BPF_MAX_CALL_DEPTH];
};

struct vstored {
	struct vstored *next;
	struct vstate st;
	bool on_path;       /* an ancestor of the current state; false = fully explored */
	uint32_t trace_idx; /* position in the path trace where it was stored */
};

struct vpending {
	struct vstate st;
	uint32_t pc;
	uint32_t path_len;
	uint32_t trace_len;
};

/* One executed instruction of the current path, for precision backtracking.
 * Stack effects are recorded because values flow through spill slots. */
enum { TR_NONE = 0, TR_FILL, TR_SPILL, TR_STACK_PARTIAL, TR_STACK_ATOMIC, TR_OTHER_FRAME };
struct vtrace {
	uint32_t pc;
	uint8_t depth;     /* frames when it executed */
	uint8_t kind;      /* TR_* */
	uint8_t slot_lo, slot_hi; /* stack slots touched (current frame) */
};

#define F_PRUNE 1
#define F_SUBPROG 2
#define F_HALF 4
#define F_SEEN 8

#define MAX_STATES_PER_INSN 32

struct venv {
	const struct bpf_insn *insns;
	uint32_t cnt;
	const struct bpf_verify_opts *o;
	const struct bpf_prog_type_info *ti;
	uint32_t limit, max_states, max_pending;
	bool loops;
	char *log;
	size_t log_size, log_len;
	uint32_t level;
	uint8_t *flags;
	uint16_t *live;
	uint32_t *subprog; /* entry insn of the subprogram containing each insn */
	struct vstored **explored;
	uint16_t *nexplored;
	struct vpending *stack;
	uint32_t nstack, capstack;
	struct vstored **path;
	uint32_t npath, cappath;
	uint32_t processed, id_gen, max_depth, nstates;
	struct vtrace *trace;
	uint32_t ntrace, captrace;
	uint32_t precise_upto; /* on-path states stored before this trace index are all-precise */
	int err;
};

/* ------------------------------------------------------------------ log */

static void vlog(struct venv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct venv *env, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!env->log || env->log_size == 0 || env->log_len + 1 >= env->log_size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(env->log + env->log_len, env->log_size - env->log_len, fmt, ap);
	va_end(ap);
	if (n > 0) {
		env->log_len += (size_t)n;
		if (env->log_len >= env->log_size)
			env->log_len = env->log_size - 1;
	}
}

/* Record the rejection reason (the first one wins) and return err. */
static int reject(struct venv *env, uint32_t pc, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int reject(struct venv *env, uint32_t pc, int err, const char *fmt, ...)
{
	va_list ap;
	char buf[192];

	if (env->err)
		return env->err;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	vlog(env, "%u: %s\n", pc, buf);
	env->err = err;
	return err;
}

static void log_scalar(struct venv *env, const struct bpf_scalar *s)
{
	uint64_t c;

	if (bpf_range_is_const(s, &c)) {
		vlog(env, "%lld", (long long)c);
		return;
	}
	vlog(env, "(");
	if (s->umin != 0 || s->umax != ~0ull)
		vlog(env, "umin=%llu,umax=%llu,", (unsigned long long)s->umin, (unsigned long long)s->umax);
	if (s->smin != INT64_MIN || s->smax != INT64_MAX)
		vlog(env, "smin=%lld,smax=%lld,", (long long)s->smin, (long long)s->smax);
	if (s->u32min != 0 || s->u32max != 0xffffffffu)
		vlog(env, "u32min=%u,u32max=%u,", s->u32min, s->u32max);
	if (s->s32min != INT32_MIN || s->s32max != INT32_MAX)
		vlog(env, "s32min=%d,s32max=%d,", s->s32min, s->s32max);
	vlog(env, "var_off=(%#llx;%#llx))", (unsigned long long)s->t.value, (unsigned long long)s->t.mask);
}

static void log_reg(struct venv *env, const struct vreg *r)
{
	switch (r->type) {
	case SCALAR:
		vlog(env, "scalar");
		log_scalar(env, &r->v);
		break;
	case PTR_TO_STACK:
		vlog(env, "fp%d", r->off);
		if (r->frameno)
			vlog(env, "@frame%u", r->frameno);
		break;
	case CONST_PTR_TO_MAP:
		vlog(env, "map_ptr(id=%u)", r->map ? r->map->id : 0);
		break;
	case PTR_TO_CODE:
		vlog(env, "code(insn=%d)", r->off);
		break;
	default:
		vlog(env, "%s(off=%d,size=%u", type_name[r->type], r->off, r->size);
		if (r->id)
			vlog(env, ",id=%u", r->id);
		if (r->v.t.mask || r->v.t.value) {
			vlog(env, ",var=");
			log_scalar(env, &r->v);
		}
		vlog(env, ")");
	}
}

static void log_state(struct venv *env, const struct vstate *st, uint32_t pc)
{
	const struct bpf_insn *in = &env->insns[pc];
	uint32_t fi, r, k;

	vlog(env, "%u: (%02x) dst=r%u src=r%u off=%d imm=%d ;", pc, in->code, in->dst_reg, in->src_reg,
	     in->off, in->imm);
	for (fi = 0; fi < st->nframes; fi++) {
		const struct vframe *f = st->f[fi];

		if (st->nframes > 1)
			vlog(env, " [frame%u]", fi);
		for (r = 0; r < MAX_BPF_REG; r++) {
			if (f->regs[r].type == NOT_INIT)
				continue;
			vlog(env, " R%u=", r);
			log_reg(env, &f->regs[r]);
		}
		for (k = 0; k < f->nslots; k++) {
			if (f->stype[k * 8] == STACK_SPILL) {
				vlog(env, " fp-%u=", (k + 1) * 8);
				log_reg(env, &f->spill[k]);
			} else {
				int j, init = 0;

				for (j = 0; j < 8; j++)
					init |= f->stype[k * 8 + j] != STACK_INVALID;
				if (init)
					vlog(env, " fp-%u=misc", (k + 1) * 8);
			}
		}
	}
	vlog(env, "\n");
}

/* ------------------------------------------------------------ registers */

static void set_unknown(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR;
	bpf_range_unknown(&r->v);
}

static void set_const(struct vreg *r, uint64_t v)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR;
	bpf_range_const(&r->v, v);
}

static void set_loaded(struct vreg *r, unsigned size, bool sx)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR;
	bpf_range_unknown_bytes(&r->v, size);
	if (sx && size < 8) {
		/* sign-extended load: [-2^(8n-1), 2^(8n-1) - 1] */
		bpf_range_unknown(&r->v);
		r->v.smin = -((int64_t)1 << (size * 8 - 1));
		r->v.smax = ((int64_t)1 << (size * 8 - 1)) - 1;
		bpf_range_sync(&r->v);
	}
}

static bool is_ptr(const struct vreg *r)
{
	return r->type != NOT_INIT && r->type != SCALAR;
}

/* ---------------------------------------------------------------- state */

static void frame_free(struct vframe *f)
{
	if (!f)
		return;
	kfree(f->stype);
	kfree(f->spill);
	kfree(f);
}

static void state_free(struct vstate *st)
{
	uint32_t i;

	for (i = 0; i < st->nframes; i++)
		frame_free(st->f[i]);
	st->nframes = 0;
}

static struct vframe *frame_new(void)
{
	return bpf_zalloc(sizeof(struct vframe));
}

static int frame_grow(struct vframe *f, uint32_t nslots)
{
	uint8_t *st;
	struct vreg *sp;

	if (nslots <= f->nslots)
		return 0;
	st = bpf_zalloc((size_t)nslots * 8);
	sp = bpf_zalloc((size_t)nslots * sizeof(struct vreg));
	if (!st || !sp) {
		kfree(st);
		kfree(sp);
		return -BPF_ENOMEM;
	}
	if (f->nslots) {
		memcpy(st, f->stype, (size_t)f->nslots * 8);
		memcpy(sp, f->spill, (size_t)f->nslots * sizeof(struct vreg));
	}
	kfree(f->stype);
	kfree(f->spill);
	f->stype = st;
	f->spill = sp;
	f->nslots = nslots;
	return 0;
}

static struct vframe *frame_copy(const struct vframe *src)
{
	struct vframe *f = frame_new();

	if (!f)
		return NULL;
	memcpy(f->regs, src->regs, sizeof(f->regs));
	f->callsite = src->callsite;
	f->entry = src->entry;
	if (frame_grow(f, src->nslots)) {
		frame_free(f);
		return NULL;
	}
	if (src->nslots) {
		memcpy(f->stype, src->stype, (size_t)src->nslots * 8);
		memcpy(f->spill, src->spill, (size_t)src->nslots * sizeof(struct vreg));
	}
	return f;
}

static int state_copy(struct vstate *dst, const struct vstate *src)
{
	uint32_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->nframes; i++) {
		dst->f[i] = frame_copy(src->f[i]);
		if (!dst->f[i]) {
			dst->nframes = i;
			state_free(dst);
			return -BPF_ENOMEM;
		}
	}
	dst->nframes = src->nframes;
	return 0;
}

static struct vframe *cur_frame(struct vstate *st)
{
	return st->f[st->nframes - 1];
}

/* byte state of stack offset o (-512 <= o < 0) in frame f */
static uint8_t stype_at(const struct vframe *f, int o)
{
	uint32_t k = (uint32_t)(-o - 1) / 8, j = (uint32_t)(o + 8 * (int)k + 8);

	return k < f->nslots ? f->stype[k * 8 + j] : STACK_INVALID;
}

static void stype_set(struct vframe *f, int o, uint8_t v)
{
	uint32_t k = (uint32_t)(-o - 1) / 8, j = (uint32_t)(o + 8 * (int)k + 8);

	f->stype[k * 8 + j] = v;
}

/* --------------------------------------------------------------- pruning */

struct idmap {
	uint32_t n;
	uint32_t old[32], cur[32];
};

static bool id_match(struct idmap *m, uint32_t old, uint32_t cur)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		if (m->old[i] == old)
			return m->cur[i] == cur;
	if (m->n == 32)
		return false;
	m->old[m->n] = old;
	m->cur[m->n++] = cur;
	return true;
}

/* Does old's register describe every value cur's may hold, with the same
 * meaning? An uninitialised old register covers anything: the explored path
 * never read it. */
static bool reg_covered(const struct vreg *cur, const struct vreg *old, struct idmap *ids,
			bool force_precise)
{
	if (old->type == NOT_INIT)
		return true;
	if (cur->type != old->type)
		return false;
	switch (old->type) {
	case SCALAR:
		/* an imprecise scalar: no safety decision below this state depended on
		 * its range (mark_precise would have said so), any scalar will do */
		if (!old->precise && !force_precise)
			return true;
		return bpf_range_subset(&cur->v, &old->v);
	case CONST_PTR_TO_MAP:
		return cur->map == old->map;
	case PTR_TO_CODE:
		return cur->off == old->off;
	case PTR_TO_MAP_VALUE_OR_NULL:
		if (!id_match(ids, old->id, cur->id))
			return false;
		/* fall through */
	default:
		return cur->off == old->off && cur->map == old->map && cur->size == old->size &&
		       cur->frameno == old->frameno && bpf_range_subset(&cur->v, &old->v);
	}
}

static bool frame_covered(const struct vframe *cur, const struct vframe *old, uint16_t live,
			  struct idmap *ids)
{
	uint32_t r, k, j;

	if (cur->callsite != old->callsite || cur->entry != old->entry)
		return false;
	for (r = 0; r < 10; r++)
		if ((live & (1u << r)) && !reg_covered(&cur->regs[r], &old->regs[r], ids, false))
			return false;
	for (k = 0; k < old->nslots; k++) {
		const uint8_t *os = &old->stype[k * 8];

		if (os[0] == STACK_SPILL) {
			if (k >= cur->nslots || cur->stype[k * 8] != STACK_SPILL ||
			    !reg_covered(&cur->spill[k], &old->spill[k], ids, true))
				return false;
			continue;
		}
		for (j = 0; j < 8; j++) {
			uint8_t c;

			if (os[j] == STACK_INVALID)
				continue;
			c = k < cur->nslots ? cur->stype[k * 8 + j] : STACK_INVALID;
			/* old read these bytes as unknown data: cur's must be data too */
			if (c == STACK_INVALID)
				return false;
			if (c == STACK_SPILL && cur->spill[k].type != SCALAR)
				return false;
		}
	}
	return true;
}

static bool state_covered(struct venv *env, const struct vstate *cur, const struct vstate *old,
			  uint32_t pc)
{
	struct idmap ids;
	uint32_t i;

	if (cur->nframes != old->nframes)
		return false;
	ids.n = 0;
	for (i = 0; i < cur->nframes; i++) {
		/* outer frames resume after their call: r6-r9 live there matter */
		uint16_t live = i + 1 == cur->nframes ? env->live[pc]
						       : (env->live[cur->f[i + 1]->callsite + 1] & 0x3c0);

		if (!frame_covered(cur->f[i], old->f[i], live, &ids))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------- precision
 *
 * Pruning compares a scalar's range only if some safety decision taken below the
 * stored state depended on it ("precise"): a pointer offset, a helper size, a
 * branch the ranges decided, a checked return value. When such a use happens,
 * mark_precise() walks the current path backwards through the instructions
 * that produced the value (through registers and stack spill slots) and marks
 * the contributing registers precise in every stored state on the path. Only
 * fully explored states (not on the current path) are used for pruning, so
 * their marks are final. Whenever the walk meets something it does not model
 * (frame changes, stack slots of other frames, atomics on tracked slots) it
 * falls back to marking every scalar of every state on the path precise. */

static void mark_all_precise(struct venv *env)
{
	uint32_t i, fi, r;

	env->precise_upto = env->ntrace;
	for (i = 0; i < env->npath; i++) {
		struct vstate *st = &env->path[i]->st;

		for (fi = 0; fi < st->nframes; fi++)
			for (r = 0; r < MAX_BPF_REG; r++)
				st->f[fi]->regs[r].precise = 1;
	}
}

/* One instruction backwards: which registers/slots did the tracked ones come
 * from? Returns false if the walk cannot continue precisely. */
static bool backtrack_insn(struct venv *env, const struct vtrace *t, uint16_t *regs, uint64_t *slots)
{
	const struct bpf_insn *in = &env->insns[t->pc];
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	uint16_t d = (uint16_t)(1u << in->dst_reg), sr = (uint16_t)(1u << in->src_reg);
	bool x = BPF_SRC(in->code) == BPF_X;
	uint64_t touched;

	if (t->kind == TR_OTHER_FRAME && (cls == BPF_LDX ? (*regs & d) : 0))
		return false;
	touched = t->kind == TR_NONE || t->kind == TR_OTHER_FRAME
			  ? 0
			  : ((~0ull >> (63 - t->slot_hi)) & (~0ull << t->slot_lo));
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (!(*regs & d))
			return true;
		if (op == BPF_MOV) {
			*regs &= (uint16_t)~d;
			if (x)
				*regs |= sr;
		} else if (x && op != BPF_END && op != BPF_NEG) {
			*regs |= sr;
		}
		return true;
	case BPF_LD:
		*regs &= (uint16_t)~d;
		return true;
	case BPF_LDX:
		if (!(*regs & d))
			return true;
		*regs &= (uint16_t)~d;
		if (t->kind == TR_FILL) /* the value came from a spilled register */
			*slots |= 1ull << t->slot_lo;
		return true;
	case BPF_ST:
	case BPF_STX:
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			if ((*slots & touched) || (*regs & sr) || (in->imm == BPF_CMPXCHG && (*regs & 1)))
				return false;
			return true;
		}
		if (!(*slots & touched))
			return true;
		if (t->kind != TR_SPILL)
			return false; /* a tracked slot partially overwritten */
		*slots &= ~touched;
		if (cls == BPF_STX)
			*regs |= sr;
		return true;
	default:
		if (op == BPF_CALL) {
			*regs &= (uint16_t)~1u; /* r0: a fresh helper result */
			return (*regs & 0x3e) == 0;
		}
		if (bpf_is_cond_jump(in) && x && (*regs & (d | sr)))
			*regs |= d | sr; /* the refinement mixed both operands' ranges */
		return true;
	}
}

/* Mark `regs` (current frame) precise in the state before trace entry k and
 * everything they came from. */
static void mark_precise(struct venv *env, struct vstate *cur, uint32_t k, uint16_t regs)
{
	uint32_t depth = cur->nframes, p = env->npath, r, steps = 0;
	uint64_t slots = 0;

	regs &= 0x3ff;
	for (;;) {
		/* nothing left to mark: no stored state further back, or only
		 * states already marked all-precise */
		if (p == 0 || k < env->precise_upto)
			return;
		/* keep the walk short in long loops (stored states are capped, so the
		 * path can be long without any): give up precisely, stay sound */
		if (++steps > 512)
			goto bail;
		while (p > 0 && env->path[p - 1]->trace_idx > k)
			p--;
		while (p > 0 && env->path[p - 1]->trace_idx == k) {
			struct vstate *s = &env->path[p - 1]->st;
			struct vframe *f;
			bool all = true;

			if (s->nframes != depth)
				goto bail;
			f = s->f[depth - 1];
			for (r = 0; r < 10; r++) {
				if (!(regs & (1u << r)) || f->regs[r].type != SCALAR)
					continue;
				all &= f->regs[r].precise;
				f->regs[r].precise = 1;
			}
			/* already precise here: this state's own marking went further back */
			if (all && !slots)
				return;
			p--;
		}
		if (!regs && !slots)
			return;
		if (k == 0)
			return; /* program entry: the initial registers are exact */
		k--;
		if (env->trace[k].depth != depth || !backtrack_insn(env, &env->trace[k], &regs, &slots))
			goto bail;
	}
bail:
	mark_all_precise(env);
}

/* A use of scalar registers whose ranges a safety decision depends on. */
static void precise_use(struct venv *env, struct vstate *st, uint16_t regs)
{
	if (env->ntrace)
		mark_precise(env, st, env->ntrace - 1, regs);
}

static void record_stack(struct venv *env, struct vstate *st, uint32_t fno, int o, uint32_t size,
			 uint8_t kind)
{
	struct vtrace *t;

	if (!env->ntrace)
		return;
	t = &env->trace[env->ntrace - 1];
	if (fno != st->nframes - 1) {
		t->kind = TR_OTHER_FRAME;
		return;
	}
	t->kind = kind;
	t->slot_lo = (uint8_t)((uint32_t)(-o - (int)size) / 8);
	t->slot_hi = (uint8_t)((uint32_t)(-o - 1) / 8);
	if (kind == TR_FILL || kind == TR_SPILL)
		t->slot_lo = t->slot_hi;
}

static int trace_push(struct venv *env, uint32_t pc, uint32_t depth)
{
	if (env->ntrace == env->captrace) {
		uint32_t cap = env->captrace ? env->captrace * 2 : 1024;
		struct vtrace *nt = kmalloc((size_t)cap * sizeof(*nt));

		if (!nt)
			return reject(env, pc, -BPF_ENOMEM, "out of memory");
		if (env->ntrace)
			memcpy(nt, env->trace, env->ntrace * sizeof(*nt));
		kfree(env->trace);
		env->trace = nt;
		env->captrace = cap;
	}
	env->trace[env->ntrace].pc = pc;
	env->trace[env->ntrace].depth = (uint8_t)depth;
	env->trace[env->ntrace].kind = TR_NONE;
	env->trace[env->ntrace].slot_lo = env->trace[env->ntrace].slot_hi = 0;
	env->ntrace++;
	return 0;
}

/* Pruning against `old` is only sound if the current path also treats old's
 * precise registers as precise. */
static void propagate_precision(struct venv *env, struct vstate *cur, const struct vstate *old)
{
	uint32_t fi, r;
	uint16_t regs = 0;

	for (fi = 0; fi < old->nframes; fi++) {
		for (r = 0; r < 10; r++) {
			if (old->f[fi]->regs[r].type != SCALAR || !old->f[fi]->regs[r].precise)
				continue;
			if (fi + 1 != old->nframes) {
				mark_all_precise(env);
				return;
			}
			regs |= (uint16_t)(1u << r);
		}
	}
	if (regs)
		mark_precise(env, cur, env->ntrace, regs);
}

/* Same state for loop detection: coverage both ways with every scalar compared. */
static bool state_equal(struct venv *env, const struct vstate *a, const struct vstate *b, uint32_t pc)
{
	struct idmap ids;
	uint32_t i, r;

	if (a->nframes != b->nframes)
		return false;
	for (i = 0; i < a->nframes; i++) {
		const struct vframe *fa = a->f[i], *fb = b->f[i];

		if (fa->callsite != fb->callsite || fa->nslots != fb->nslots ||
		    (fa->nslots && memcmp(fa->stype, fb->stype, fa->nslots * 8)))
			return false;
		for (r = 0; r < 10; r++) {
			ids.n = 0;
			if (i + 1 == a->nframes && !(env->live[pc] & (1u << r)))
				continue;
			if (!reg_covered(&fa->regs[r], &fb->regs[r], &ids, true) ||
			    !reg_covered(&fb->regs[r], &fa->regs[r], &ids, true))
				return false;
		}
		for (r = 0; r < fa->nslots; r++) {
			ids.n = 0;
			if (fa->stype[r * 8] == STACK_SPILL &&
			    (!reg_covered(&fa->spill[r], &fb->spill[r], &ids, true) ||
			     !reg_covered(&fb->spill[r], &fa->spill[r], &ids, true)))
				return false;
		}
	}
	return true;
}

/* 1: prune this path, 0: continue, <0: error */
static int visit_state(struct venv *env, struct vstate *st, uint32_t pc)
{
	struct vstored *s, *n;
	struct vstored **np;

	for (s = env->explored[pc]; s; s = s->next) {
		if (s->on_path) {
			/* an ancestor on this very path (a loop): equal means no
			 * progress is possible. Ancestors are never used for pruning. */
			if (state_equal(env, st, &s->st, pc))
				return reject(env, pc, -BPF_EINVAL, "infinite loop detected");
			continue;
		}
		if (!state_covered(env, st, &s->st, pc))
			continue;
		propagate_precision(env, st, &s->st);
		return 1;
	}
	if (env->nexplored[pc] >= MAX_STATES_PER_INSN || env->nstates >= env->max_states)
		return 0;
	if (env->npath == env->cappath) {
		uint32_t cap = env->cappath ? env->cappath * 2 : 64;

		np = bpf_zalloc(cap * sizeof(*np));
		if (!np)
			return reject(env, pc, -BPF_ENOMEM, "out of memory");
		if (env->npath)
			memcpy(np, env->path, env->npath * sizeof(*np));
		kfree(env->path);
		env->path = np;
		env->cappath = cap;
	}
	n = bpf_zalloc(sizeof(*n));
	if (!n || state_copy(&n->st, st)) {
		kfree(n);
		return reject(env, pc, -BPF_ENOMEM, "out of memory");
	}
	n->on_path = true;
	n->trace_idx = env->ntrace;
	{
		uint32_t fi, r;

		for (fi = 0; fi < n->st.nframes; fi++)
			for (r = 0; r < MAX_BPF_REG; r++)
				n->st.f[fi]->regs[r].precise = 0;
	}
	n->next = env->explored[pc];
	env->explored[pc] = n;
	env->nexplored[pc]++;
	env->nstates++;
	env->path[env->npath++] = n;
	return 0;
}

static int push_branch(struct venv *env, struct vstate *st, uint32_t pc)
{
	if (env->nstack == env->capstack) {
		uint32_t cap = env->capstack ? env->capstack * 2 : 32;
		struct vpending *ns;

		if (cap > env->max_pending)
			return reject(env, pc, -BPF_E2BIG, "too many pending branches (max %u)", env->max_pending);
		ns = bpf_zalloc(cap * sizeof(*ns));
		if (!ns)
			return reject(env, pc, -BPF_ENOMEM, "out of memory");
		if (env->nstack)
			memcpy(ns, env->stack, env->nstack * sizeof(*ns));
		kfree(env->stack);
		env->stack = ns;
		env->capstack = cap;
	}
	env->stack[env->nstack].st = *st; /* takes ownership of the frames */
	env->stack[env->nstack].pc = pc;
	env->stack[env->nstack].path_len = env->npath;
	env->stack[env->nstack].trace_len = env->ntrace;
	env->nstack++;
	return 0;
}

/* ----------------------------------------------------------- memory access */

enum access { ACC_READ, ACC_WRITE, ACC_ATOMIC };

/* Bounds of an access to [reg.off + var + off, +size) in a region of `limit`
 * bytes (map value, mem). */
static int check_region(struct venv *env, uint32_t pc, uint32_t regno, const struct vreg *reg,
			int32_t off, uint32_t size, uint32_t limit, const char *what)
{
	int64_t lo, hi;

	if (reg->v.smin < 0)
		return reject(env, pc, -BPF_EACCES,
			      "R%u min value is negative, either use unsigned index or do a if (index >= 0) check",
			      regno);
	if (reg->v.umax >= BPF_MAX_VAR_OFF)
		return reject(env, pc, -BPF_EACCES,
			      "R%u unbounded memory access, make sure to bounds check any such access", regno);
	lo = (int64_t)reg->off + reg->v.smin + off;
	hi = (int64_t)reg->off + (int64_t)reg->v.umax + off + size;
	if (lo < 0 || hi > (int64_t)limit)
		return reject(env, pc, -BPF_EACCES, "invalid access to %s, size=%u off=%lld access_size=%u",
			      what, limit, (long long)((int64_t)reg->off + off + reg->v.smin), size);
	return 0;
}

static int check_stack(struct venv *env, struct vstate *st, uint32_t pc, uint32_t regno,
		       const struct vreg *reg, int32_t off, uint32_t size, int *out_off)
{
	uint64_t c;
	int64_t o;

	if (!bpf_range_is_const(&reg->v, &c))
		return reject(env, pc, -BPF_EACCES, "R%u variable stack access prohibited", regno);
	o = (int64_t)reg->off + (int64_t)c + off;
	if (o < -MAX_BPF_STACK || o + size > 0)
		return reject(env, pc, -BPF_EACCES, "invalid stack access off=%lld size=%u", (long long)o, size);
	if (reg->frameno >= st->nframes)
		return reject(env, pc, -BPF_EACCES, "R%u stack pointer to a dead frame", regno);
	*out_off = (int)o;
	return 0;
}

/* Stack write of `size` bytes at o in frame f; val is the stored register (NULL
 * for an immediate store, then `imm` is its value). */
static int stack_write(struct venv *env, struct vstate *st, uint32_t pc, uint32_t fno, int o,
		       uint32_t size, const struct vreg *val, uint32_t valno, int64_t imm)
{
	struct vframe *f = st->f[fno];
	uint32_t k, i;

	if (frame_grow(f, (uint32_t)(-o + 7) / 8))
		return reject(env, pc, -BPF_ENOMEM, "out of memory");
	if (val && val->type == PTR_TO_STACK && val->frameno > fno)
		return reject(env, pc, -BPF_EACCES,
			      "R%u cannot store a pointer to a callee's stack in a caller's frame", valno);
	if (size == 8 && (o % 8) == 0) {
		/* spill: the slot keeps the full register state */
		k = (uint32_t)(-o - 1) / 8;
		if (val)
			f->spill[k] = *val;
		else
			set_const(&f->spill[k], (uint64_t)imm);
		for (i = 0; i < 8; i++)
			f->stype[k * 8 + i] = STACK_SPILL;
		record_stack(env, st, fno, o, 8, TR_SPILL);
		return 0;
	}
	if (val && is_ptr(val))
		return reject(env, pc, -BPF_EACCES, "R%u invalid size of register spill", valno);
	for (i = 0; i < size; i++) {
		int b = o + (int)i;

		k = (uint32_t)(-b - 1) / 8;
		if (f->stype[k * 8] == STACK_SPILL) {
			/* a partially overwritten spill becomes plain data */
			uint32_t j;

			for (j = 0; j < 8; j++)
				f->stype[k * 8 + j] = STACK_MISC;
			set_unknown(&f->spill[k]);
		}
		stype_set(f, b, STACK_MISC);
	}
	record_stack(env, st, fno, o, size, TR_STACK_PARTIAL);
	return 0;
}

static int stack_read(struct venv *env, struct vstate *st, uint32_t pc, uint32_t fno, int o,
		      uint32_t size, struct vreg *dst, bool sx)
{
	struct vframe *f = st->f[fno];
	uint32_t i, k = (uint32_t)(-o - 1) / 8;

	if (size == 8 && (o % 8) == 0 && k < f->nslots && f->stype[k * 8] == STACK_SPILL) {
		if (dst) {
			*dst = f->spill[k];
			record_stack(env, st, fno, o, 8, TR_FILL);
		}
		return 0;
	}
	for (i = 0; i < size; i++) {
		int b = o + (int)i;
		uint8_t t = stype_at(f, b);

		if (t == STACK_INVALID)
			return reject(env, pc, -BPF_EACCES, "invalid read from stack off %d+%u size %u", o, i,
				      size);
		k = (uint32_t)(-b - 1) / 8;
		if (t == STACK_SPILL && f->spill[k].type != SCALAR)
			return reject(env, pc, -BPF_EACCES, "invalid size of register fill at fp%d", o);
	}
	if (dst) {
		set_loaded(dst, size, sx); /* a fresh value; from another frame: see record_stack */
		if (fno != st->nframes - 1)
			record_stack(env, st, fno, o, size, TR_OTHER_FRAME);
	}
	return 0;
}

/* A load, store or atomic through register `regno` at insn offset `off`.
 * For loads, dst receives the loaded value. */
static int check_mem_access(struct venv *env, struct vstate *st, uint32_t pc, uint32_t regno,
			    int32_t off, uint32_t size, enum access acc, const struct vreg *val,
			    uint32_t valno, int64_t imm, struct vreg *dst, bool sx)
{
	struct vreg *reg = &cur_frame(st)->regs[regno];
	int o, err;

	switch (reg->type) {
	case PTR_TO_STACK:
		err = check_stack(env, st, pc, regno, reg, off, size, &o);
		if (err)
			return err;
		if (acc == ACC_ATOMIC) {
			if (o % (int)size)
				return reject(env, pc, -BPF_EACCES, "misaligned stack atomic off=%d size=%u", o,
					      size);
			err = stack_read(env, st, pc, reg->frameno, o, size, NULL, false);
			if (err)
				return err;
			if (stype_at(st->f[reg->frameno], o) == STACK_SPILL &&
			    st->f[reg->frameno]->spill[(uint32_t)(-o - 1) / 8].type != SCALAR)
				return reject(env, pc, -BPF_EACCES, "atomic on a spilled pointer at fp%d", o);
			/* the slot now holds an unknown value of that size */
			err = stack_write(env, st, pc, reg->frameno, o, size, NULL, 0, 0);
			if (!err && size == 8)
				set_unknown(&st->f[reg->frameno]->spill[(uint32_t)(-o - 1) / 8]);
			record_stack(env, st, reg->frameno, o, size, TR_STACK_ATOMIC);
			return err;
		}
		if (acc == ACC_WRITE)
			return stack_write(env, st, pc, reg->frameno, o, size, val, valno, imm);
		return stack_read(env, st, pc, reg->frameno, o, size, dst, sx);
	case PTR_TO_CTX: {
		int64_t co = (int64_t)reg->off + off;

		if (acc != ACC_READ)
			return reject(env, pc, -BPF_EACCES, "write into ctx of %s programs is not allowed",
				      env->ti->name);
		if (co < 0 || co + size > env->ti->ctx_size || (co % size) != 0)
			return reject(env, pc, -BPF_EACCES, "invalid bpf_context access off=%lld size=%u",
				      (long long)co, size);
		set_loaded(dst, size, sx);
		return 0;
	}
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MEM: {
		const char *what = reg->type == PTR_TO_MEM ? "mem" : "map value";

		err = check_region(env, pc, regno, reg, off, size, reg->size, what);
		if (err)
			return err;
		if (acc != ACC_READ && val && is_ptr(val))
			return reject(env, pc, -BPF_EACCES, "R%u leaks addr into %s", valno, what);
		if (acc == ACC_ATOMIC &&
		    ((((int64_t)reg->off + off) % size) || ((reg->v.t.value | reg->v.t.mask) & (size - 1))))
			return reject(env, pc, -BPF_EACCES, "misaligned atomic access to %s", what);
		if (acc == ACC_READ)
			set_loaded(dst, size, sx);
		return 0;
	}
	case NOT_INIT:
		return reject(env, pc, -BPF_EACCES, "R%u !read_ok", regno);
	case PTR_TO_MAP_VALUE_OR_NULL:
		return reject(env, pc, -BPF_EACCES,
			      "R%u invalid mem access 'map_value_or_null' (missing null check)", regno);
	default:
		return reject(env, pc, -BPF_EACCES, "R%u invalid mem access '%s'", regno,
			      type_name[reg->type]);
	}
}

/* ------------------------------------------------------------------ ALU */

typedef void (*binop_fn)(struct bpf_scalar *, const struct bpf_scalar *, const struct bpf_scalar *);

static binop_fn binop(uint8_t op, bool is64, bool sign)
{
	switch (op) {
	case BPF_ADD: return is64 ? bpf_range_add64 : bpf_range_add32;
	case BPF_SUB: return is64 ? bpf_range_sub64 : bpf_range_sub32;
	case BPF_MUL: return is64 ? bpf_range_mul64 : bpf_range_mul32;
	case BPF_DIV: return sign ? (is64 ? bpf_range_sdiv64 : bpf_range_sdiv32)
				  : (is64 ? bpf_range_div64 : bpf_range_div32);
	case BPF_MOD: return sign ? (is64 ? bpf_range_smod64 : bpf_range_smod32)
				  : (is64 ? bpf_range_mod64 : bpf_range_mod32);
	case BPF_OR: return is64 ? bpf_range_or64 : bpf_range_or32;
	case BPF_AND: return is64 ? bpf_range_and64 : bpf_range_and32;
	case BPF_XOR: return is64 ? bpf_range_xor64 : bpf_range_xor32;
	case BPF_LSH: return is64 ? bpf_range_lsh64 : bpf_range_lsh32;
	case BPF_RSH: return is64 ? bpf_range_rsh64 : bpf_range_rsh32;
	case BPF_ARSH: return is64 ? bpf_range_arsh64 : bpf_range_arsh32;
	default: return NULL;
	}
}

static const char *const alu_name[16] = {
	"add", "sub", "mul", "div", "or", "and", "lsh", "rsh",
	"neg", "mod", "xor", "mov", "arsh", "end", "?", "?",
};

static bool ptr_same_region(const struct vreg *a, const struct vreg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PTR_TO_STACK: return a->frameno == b->frameno;
	case PTR_TO_MAP_VALUE: return a->map == b->map;
	case PTR_TO_MEM: case PTR_TO_CTX: return true;
	default: return false;
	}
}

static int ptr_arith(struct venv *env, struct vstate *st, uint32_t pc, const struct bpf_insn *in,
		     struct vreg *dst, const struct vreg *src)
{
	uint8_t op = BPF_OP(in->code);
	const struct vreg *ptr, *k;
	struct vreg res;
	uint64_t c;

	if (BPF_CLASS(in->code) != BPF_ALU64)
		return reject(env, pc, -BPF_EACCES, "R%u 32-bit pointer arithmetic prohibited", in->dst_reg);
	if (op != BPF_ADD && op != BPF_SUB)
		return reject(env, pc, -BPF_EACCES, "R%u pointer arithmetic with %s operator prohibited",
			      in->dst_reg, alu_name[op >> 4]);
	if (is_ptr(dst) && is_ptr(src)) {
		if (op == BPF_SUB && ptr_same_region(dst, src)) {
			set_unknown(dst); /* distance between two pointers: a plain number */
			return 0;
		}
		return reject(env, pc, -BPF_EACCES, "R%u pointer arithmetic on two pointers prohibited",
			      in->dst_reg);
	}
	if (is_ptr(dst)) {
		ptr = dst;
		k = src;
		if (BPF_SRC(in->code) == BPF_X) /* the offset's range becomes part of a pointer */
			precise_use(env, st, (uint16_t)(1u << in->src_reg));
	} else {
		if (op == BPF_SUB)
			return reject(env, pc, -BPF_EACCES, "R%u subtraction of a pointer from a scalar prohibited",
				      in->dst_reg);
		ptr = src;
		k = dst;
		precise_use(env, st, (uint16_t)(1u << in->dst_reg));
	}
	switch (ptr->type) {
	case PTR_TO_MAP_VALUE_OR_NULL:
		return reject(env, pc, -BPF_EACCES,
			      "R%u pointer arithmetic on map_value_or_null prohibited, null-check it first",
			      in->dst_reg);
	case CONST_PTR_TO_MAP:
	case PTR_TO_CODE:
		return reject(env, pc, -BPF_EACCES, "R%u pointer arithmetic on %s prohibited", in->dst_reg,
			      type_name[ptr->type]);
	default:
		break;
	}
	res = *ptr;
	if (bpf_range_is_const(&k->v, &c)) {
		int64_t no = op == BPF_ADD ? (int64_t)ptr->off + (int64_t)c : (int64_t)ptr->off - (int64_t)c;

		if ((int64_t)c >= BPF_MAX_VAR_OFF || (int64_t)c <= -BPF_MAX_VAR_OFF || no >= BPF_MAX_VAR_OFF ||
		    no <= -BPF_MAX_VAR_OFF)
			return reject(env, pc, -BPF_EACCES, "R%u pointer offset %lld out of range", in->dst_reg,
				      (long long)(int64_t)c);
		res.off = (int32_t)no;
	} else {
		if (ptr->type == PTR_TO_CTX)
			return reject(env, pc, -BPF_EACCES, "R%u variable ctx access prohibited", in->dst_reg);
		if (k->v.smin <= -BPF_MAX_VAR_OFF || k->v.smax >= BPF_MAX_VAR_OFF)
			return reject(env, pc, -BPF_EACCES,
				      "R%u unbounded pointer arithmetic (scalar in [%lld, %lld])", in->dst_reg,
				      (long long)k->v.smin, (long long)k->v.smax);
		if (op == BPF_ADD)
			bpf_range_add64(&res.v, &ptr->v, &k->v);
		else
			bpf_range_sub64(&res.v, &ptr->v, &k->v);
		if (res.v.smin <= -BPF_MAX_VAR_OFF || res.v.smax >= BPF_MAX_VAR_OFF)
			return reject(env, pc, -BPF_EACCES, "R%u pointer offset out of range", in->dst_reg);
	}
	*dst = res;
	return 0;
}

static int check_read(struct venv *env, struct vstate *st, uint32_t pc, uint32_t regno)
{
	if (cur_frame(st)->regs[regno].type == NOT_INIT)
		return reject(env, pc, -BPF_EACCES, "R%u !read_ok", regno);
	return 0;
}

static int check_write(struct venv *env, uint32_t pc, uint32_t regno)
{
	if (regno == BPF_REG_10)
		return reject(env, pc, -BPF_EACCES, "frame pointer is read only");
	return 0;
}

static int do_alu(struct venv *env, struct vstate *st, uint32_t pc, const struct bpf_insn *in)
{
	struct vframe *f = cur_frame(st);
	uint8_t op = BPF_OP(in->code);
	bool is64 = BPF_CLASS(in->code) == BPF_ALU64, x = BPF_SRC(in->code) == BPF_X;
	struct vreg *dst = &f->regs[in->dst_reg], srcv;
	int err;

	err = check_write(env, pc, in->dst_reg);
	if (err)
		return err;
	if (op == BPF_END || op == BPF_NEG) {
		void (*un)(struct bpf_scalar *, const struct bpf_scalar *);

		if ((err = check_read(env, st, pc, in->dst_reg)))
			return err;
		if (dst->type != SCALAR)
			return reject(env, pc, -BPF_EACCES, "R%u %s of a pointer prohibited", in->dst_reg,
				      op == BPF_NEG ? "negation" : "byte swap");
		if (op == BPF_NEG)
			un = is64 ? bpf_range_neg64 : bpf_range_neg32;
		else if (is64)
			un = in->imm == 16 ? bpf_range_bswap16 : in->imm == 32 ? bpf_range_bswap32 : bpf_range_bswap64;
		else if (x) /* BPF_TO_BE */
			un = in->imm == 16 ? bpf_range_be16 : in->imm == 32 ? bpf_range_be32 : bpf_range_be64;
		else
			un = in->imm == 16 ? bpf_range_le16 : in->imm == 32 ? bpf_range_le32 : bpf_range_le64;
		un(&dst->v, &dst->v);
		return 0;
	}
	if (x) {
		if ((err = check_read(env, st, pc, in->src_reg)))
			return err;
		srcv = f->regs[in->src_reg];
	} else {
		set_const(&srcv, (uint64_t)(int64_t)in->imm);
	}
	if (op == BPF_MOV) {
		if (x && in->off) {
			void (*un)(struct bpf_scalar *, const struct bpf_scalar *);

			if (srcv.type != SCALAR)
				return reject(env, pc, -BPF_EACCES, "R%u sign-extending move of a pointer prohibited",
					      in->src_reg);
			if (is64)
				un = in->off == 8 ? bpf_range_movsx64_s8 : in->off == 16 ? bpf_range_movsx64_s16
											 : bpf_range_movsx64_s32;
			else
				un = in->off == 8 ? bpf_range_movsx32_s8 : bpf_range_movsx32_s16;
			set_unknown(dst);
			un(&dst->v, &srcv.v);
			return 0;
		}
		if (is64) {
			*dst = srcv;
			return 0;
		}
		if (srcv.type != SCALAR)
			return reject(env, pc, -BPF_EACCES, "R%u 32-bit move of a pointer prohibited", in->src_reg);
		set_unknown(dst);
		bpf_range_mov32(&dst->v, &srcv.v);
		return 0;
	}
	if ((err = check_read(env, st, pc, in->dst_reg)))
		return err;
	if (is_ptr(dst) || is_ptr(&srcv))
		return ptr_arith(env, st, pc, in, dst, &srcv);
	if (!x && (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
	    (in->imm < 0 || in->imm >= (is64 ? 64 : 32)))
		return reject(env, pc, -BPF_EINVAL, "invalid shift %d", in->imm);
	binop(op, is64, in->off == 1)(&dst->v, &dst->v, &srcv.v);
	return 0;
}

/* ---------------------------------------------------------------- jumps */

static void mark_null(struct vstate *st, uint32_t id, bool is_null)
{
	uint32_t fi, r, k;

	for (fi = 0; fi < st->nframes; fi++) {
		struct vframe *f = st->f[fi];

		for (r = 0; r < MAX_BPF_REG + f->nslots; r++) {
			struct vreg *reg = r < MAX_BPF_REG ? &f->regs[r] : &f->spill[r - MAX_BPF_REG];

			k = r - MAX_BPF_REG;
			if (r >= MAX_BPF_REG && f->stype[k * 8] != STACK_SPILL)
				continue;
			if (reg->type != PTR_TO_MAP_VALUE_OR_NULL || reg->id != id)
				continue;
			if (is_null) {
				set_const(reg, 0);
			} else {
				reg->type = PTR_TO_MAP_VALUE;
				reg->id = 0;
			}
		}
	}
}

static int do_cond_jump(struct venv *env, struct vstate *st, uint32_t *pc, const struct bpf_insn *in)
{
	struct vframe *f = cur_frame(st);
	uint8_t op = BPF_OP(in->code);
	bool x = BPF_SRC(in->code) == BPF_X, is32 = BPF_CLASS(in->code) == BPF_JMP32;
	uint32_t target = (uint32_t)bpf_jump_target(in, *pc);
	struct vreg *d = &f->regs[in->dst_reg], s;
	struct bpf_scalar dt, stt, df, sf;
	struct vstate other;
	int mask = BPF_BR_TAKEN | BPF_BR_FALLTHROUGH, err;
	uint64_t c;
	bool refine = false, nullcheck = false;

	if ((err = check_read(env, st, *pc, in->dst_reg)))
		return err;
	if (x) {
		if ((err = check_read(env, st, *pc, in->src_reg)))
			return err;
		s = f->regs[in->src_reg];
	} else {
		set_const(&s, (uint64_t)(int64_t)in->imm);
	}
	if (d->type == SCALAR && s.type == SCALAR) {
		if (x && in->src_reg == in->dst_reg) {
			int e = bpf_range_jmp_eval(op, is32, &d->v, &d->v);

			mask = e == 1 ? BPF_BR_TAKEN : e == 0 ? BPF_BR_FALLTHROUGH : mask;
		} else {
			mask = bpf_range_jmp_refine(op, is32, &d->v, &s.v, &dt, &stt, &df, &sf);
			refine = true;
		}
	} else if (!is32 && (op == BPF_JEQ || op == BPF_JNE) && s.type == SCALAR &&
		   bpf_range_is_const(&s.v, &c) && c == 0) {
		if (d->type == PTR_TO_MAP_VALUE_OR_NULL)
			nullcheck = true;
		else /* other pointers are never NULL */
			mask = op == BPF_JEQ ? BPF_BR_FALLTHROUGH : BPF_BR_TAKEN;
	}
	if (mask != (BPF_BR_TAKEN | BPF_BR_FALLTHROUGH) && d->type == SCALAR && s.type == SCALAR)
		/* the ranges decided an edge: they matter for every state above */
		precise_use(env, st, (uint16_t)((1u << in->dst_reg) | (x ? 1u << in->src_reg : 0)));
	if (mask == 0) /* no concrete value reaches here (refinement found a contradiction) */
		return 1;
	if (mask & BPF_BR_TAKEN) {
		if (mask & BPF_BR_FALLTHROUGH) {
			if (state_copy(&other, st))
				return reject(env, *pc, -BPF_ENOMEM, "out of memory");
		} else {
			other = *st;
		}
		f = cur_frame(&other);
		if (refine) {
			f->regs[in->dst_reg].v = dt;
			if (x)
				f->regs[in->src_reg].v = stt;
		}
		if (nullcheck)
			mark_null(&other, d->id, op == BPF_JEQ);
		if (!(mask & BPF_BR_FALLTHROUGH)) {
			*st = other;
			*pc = target;
			return 0;
		}
		if ((err = push_branch(env, &other, target))) {
			state_free(&other);
			return err;
		}
	}
	f = cur_frame(st);
	if (refine) {
		f->regs[in->dst_reg].v = df;
		if (x)
			f->regs[in->src_reg].v = sf;
	}
	if (nullcheck)
		mark_null(st, f->regs[in->dst_reg].id, op == BPF_JNE);
	*pc += 1;
	return 0;
}

/* ---------------------------------------------------------------- calls */

/* Helper memory argument: `size` readable, initialised bytes at reg. */
static int check_helper_mem(struct venv *env, struct vstate *st, uint32_t pc, uint32_t regno,
			    uint64_t size)
{
	struct vreg *reg = &cur_frame(st)->regs[regno];
	int o, err;

	if (size > BPF_MAX_VAR_OFF)
		return reject(env, pc, -BPF_EACCES, "R%u memory argument too large", regno);
	switch (reg->type) {
	case PTR_TO_STACK:
		err = check_stack(env, st, pc, regno, reg, 0, (uint32_t)size, &o);
		if (err)
			return err;
		return stack_read(env, st, pc, reg->frameno, o, (uint32_t)size, NULL, false);
	case PTR_TO_MAP_VALUE:
		return check_region(env, pc, regno, reg, 0, (uint32_t)size, reg->size, "map value");
	case PTR_TO_MEM:
		return check_region(env, pc, regno, reg, 0, (uint32_t)size, reg->size, "mem");
	case PTR_TO_CTX:
		if (reg->off < 0 || reg->off + size > env->ti->ctx_size)
			return reject(env, pc, -BPF_EACCES, "invalid bpf_context access off=%d size=%llu",
				      reg->off, (unsigned long long)size);
		return 0;
	case NOT_INIT:
		return reject(env, pc, -BPF_EACCES, "R%u !read_ok", regno);
	case PTR_TO_MAP_VALUE_OR_NULL:
		return reject(env, pc, -BPF_EACCES,
			      "R%u type=map_value_or_null expected=fp, map_value, mem or ctx (missing null check)",
			      regno);
	default:
		return reject(env, pc, -BPF_EACCES, "R%u type=%s expected=fp, map_value, mem or ctx", regno,
			      type_name[reg->type]);
	}
}

static int do_helper(struct venv *env, struct vstate *st, uint32_t pc, const struct bpf_insn *in)
{
	const struct bpf_helper_proto *p = bpf_helper_proto((uint32_t)in->imm);
	struct vframe *f = cur_frame(st);
	struct bpf_map *map = NULL;
	uint32_t i, memreg = 0;
	int err;

	if (!p)
		return reject(env, pc, -BPF_EINVAL, "invalid func unknown#%d", in->imm);
	for (i = 0; i < p->nargs; i++) {
		uint32_t regno = i + 1;
		struct vreg *r = &f->regs[regno];

		if ((err = check_read(env, st, pc, regno)))
			return err;
		switch (p->args[i]) {
		case ARG_ANYTHING:
			if (r->type != SCALAR)
				return reject(env, pc, -BPF_EACCES, "R%u type=%s expected=scalar (func %s#%u)", regno,
					      type_name[r->type], p->name, p->id);
			break;
		case ARG_CONST_MAP_PTR:
			if (r->type != CONST_PTR_TO_MAP)
				return reject(env, pc, -BPF_EACCES, "R%u type=%s expected=map_ptr (func %s#%u)", regno,
					      type_name[r->type], p->name, p->id);
			map = r->map;
			if (p->map_types && !(p->map_types & (1u << (map->type & 31))))
				return reject(env, pc, -BPF_EINVAL, "cannot pass map_type %u into func %s#%u",
					      map->type, p->name, p->id);
			break;
		case ARG_PTR_TO_MAP_KEY:
			if ((err = check_helper_mem(env, st, pc, regno, map->key_size)))
				return err;
			break;
		case ARG_PTR_TO_MAP_VALUE:
			if ((err = check_helper_mem(env, st, pc, regno, map->value_size)))
				return err;
			break;
		case ARG_PTR_TO_MEM:
			memreg = regno;
			if (r->type == SCALAR || r->type == CONST_PTR_TO_MAP || r->type == PTR_TO_CODE ||
			    r->type == PTR_TO_MAP_VALUE_OR_NULL)
				return check_helper_mem(env, st, pc, regno, 1);
			break;
		case ARG_CONST_SIZE:
			if (r->type != SCALAR)
				return reject(env, pc, -BPF_EACCES, "R%u type=%s expected=scalar size", regno,
					      type_name[r->type]);
			if (r->v.umax >= BPF_MAX_VAR_OFF)
				return reject(env, pc, -BPF_EACCES,
					      "R%u unbounded memory access, use 'var &= const' or 'if (var < const)'",
					      regno);
			if (r->v.umin == 0)
				return reject(env, pc, -BPF_EACCES, "R%u invalid zero-sized read", regno);
			precise_use(env, st, (uint16_t)(1u << regno));
			if ((err = check_helper_mem(env, st, pc, memreg, r->v.umax)))
				return err;
			break;
		}
	}
	for (i = 1; i <= 5; i++)
		f->regs[i].type = NOT_INIT;
	if (p->ret == RET_MAP_VALUE_OR_NULL) {
		struct vreg *r0 = &f->regs[0];

		memset(r0, 0, sizeof(*r0));
		r0->type = PTR_TO_MAP_VALUE_OR_NULL;
		r0->map = map;
		r0->size = map->value_size;
		r0->id = ++env->id_gen;
		bpf_range_const(&r0->v, 0);
	} else {
		set_unknown(&f->regs[0]);
	}
	return 0;
}

static int do_local_call(struct venv *env, struct vstate *st, uint32_t *pc, const struct bpf_insn *in)
{
	uint32_t target = *pc + (uint32_t)in->imm + 1, i;
	struct vframe *caller = cur_frame(st), *callee;

	if (st->nframes >= BPF_MAX_CALL_DEPTH)
		return reject(env, *pc, -BPF_E2BIG, "call stack too deep (max %d frames)", BPF_MAX_CALL_DEPTH);
	for (i = 0; i < st->nframes; i++)
		if (st->f[i]->entry == target)
			return reject(env, *pc, -BPF_EINVAL, "recursive call to insn %u", target);
	callee = frame_new();
	if (!callee)
		return reject(env, *pc, -BPF_ENOMEM, "out of memory");
	for (i = 1; i <= 5; i++)
		callee->regs[i] = caller->regs[i];
	callee->regs[10].type = PTR_TO_STACK;
	callee->regs[10].frameno = (uint8_t)st->nframes;
	bpf_range_const(&callee->regs[10].v, 0);
	callee->callsite = *pc;
	callee->entry = target;
	st->f[st->nframes++] = callee;
	if (st->nframes > env->max_depth)
		env->max_depth = st->nframes;
	*pc = target;
	return 0;
}

/* 1: the path ended at the program's exit */
static int do_exit(struct venv *env, struct vstate *st, uint32_t *pc)
{
	struct vframe *f = cur_frame(st), *caller;
	struct vreg *r0 = &f->regs[0];
	int err;

	if ((err = check_read(env, st, *pc, 0)))
		return err;
	if (st->nframes > 1) {
		if (r0->type == PTR_TO_STACK && r0->frameno >= st->nframes - 1)
			return reject(env, *pc, -BPF_EACCES, "cannot return a stack pointer to the caller");
		caller = st->f[st->nframes - 2];
		caller->regs[0] = *r0;
		for (int i = 1; i <= 5; i++)
			caller->regs[i].type = NOT_INIT;
		*pc = f->callsite + 1;
		frame_free(f);
		st->f[--st->nframes] = NULL;
		return 0;
	}
	if (r0->type != SCALAR)
		return reject(env, *pc, -BPF_EACCES, "R0 leaks addr as return value");
	if (env->ti->has_ret_range)
		precise_use(env, st, 1);
	if (env->ti->has_ret_range && (r0->v.smin < env->ti->ret_min || r0->v.smax > env->ti->ret_max))
		return reject(env, *pc, -BPF_EACCES,
			      "At program exit R0 has smin=%lld smax=%lld, should be in [%lld, %lld]",
			      (long long)r0->v.smin, (long long)r0->v.smax, (long long)env->ti->ret_min,
			      (long long)env->ti->ret_max);
	return 1;
}

/* ----------------------------------------------------------- instructions */

static int do_lddw(struct venv *env, struct vstate *st, uint32_t pc, const struct bpf_insn *in)
{
	struct vreg *dst = &cur_frame(st)->regs[in->dst_reg];
	struct bpf_map *map = env->o->maps ? env->o->maps[pc] : NULL;
	uint32_t off = (uint32_t)env->insns[pc + 1].imm;

	switch (in->src_reg) {
	case 0:
		set_const(dst, (uint32_t)in->imm | ((uint64_t)off << 32));
		return 0;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		if (!map)
			return reject(env, pc, -BPF_EINVAL, "lddw: map reference %d does not name a map", in->imm);
		memset(dst, 0, sizeof(*dst));
		dst->type = CONST_PTR_TO_MAP;
		dst->map = map;
		return 0;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		if (!map)
			return reject(env, pc, -BPF_EINVAL, "lddw: map reference %d does not name a map", in->imm);
		if (map->type != BPF_MAP_TYPE_ARRAY)
			return reject(env, pc, -BPF_EINVAL, "lddw: direct value access needs an array map");
		if (off >= map->value_size)
			return reject(env, pc, -BPF_EINVAL, "lddw: value offset %u out of range (value_size=%u)", off,
				      map->value_size);
		memset(dst, 0, sizeof(*dst));
		dst->type = PTR_TO_MAP_VALUE;
		dst->map = map;
		dst->size = map->value_size;
		dst->off = (int32_t)off;
		bpf_range_const(&dst->v, 0);
		return 0;
	case BPF_PSEUDO_FUNC:
		memset(dst, 0, sizeof(*dst));
		dst->type = PTR_TO_CODE;
		dst->off = (int32_t)(pc + (uint32_t)in->imm + 1);
		return 0;
	default:
		return reject(env, pc, -BPF_EINVAL, "lddw: variable addresses (src_reg 3) are not supported");
	}
}

static const unsigned size_of[4] = { 4, 2, 1, 8 };

/* 0: continue at *pc, 1: path finished, <0: rejected */
static int do_insn(struct venv *env, struct vstate *st, uint32_t *pc)
{
	const struct bpf_insn *in = &env->insns[*pc];
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	struct vframe *f = cur_frame(st);
	unsigned size = size_of[BPF_SIZE(in->code) >> 3];
	struct vreg tmp;
	int err;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		err = do_alu(env, st, *pc, in);
		break;
	case BPF_LD:
		if ((err = check_write(env, *pc, in->dst_reg)))
			return err;
		err = do_lddw(env, st, *pc, in);
		*pc += 2;
		return err;
	case BPF_LDX:
		if ((err = check_write(env, *pc, in->dst_reg)) || (err = check_read(env, st, *pc, in->src_reg)))
			return err;
		err = check_mem_access(env, st, *pc, in->src_reg, in->off, size, ACC_READ, NULL, 0, 0, &tmp,
				       BPF_MODE(in->code) == BPF_MEMSX);
		if (!err)
			f->regs[in->dst_reg] = tmp;
		break;
	case BPF_ST:
		if ((err = check_read(env, st, *pc, in->dst_reg)))
			return err;
		err = check_mem_access(env, st, *pc, in->dst_reg, in->off, size, ACC_WRITE, NULL, 0, in->imm,
				       NULL, false);
		break;
	case BPF_STX:
		if ((err = check_read(env, st, *pc, in->dst_reg)) || (err = check_read(env, st, *pc, in->src_reg)))
			return err;
		if (BPF_MODE(in->code) == BPF_MEM) {
			tmp = f->regs[in->src_reg];
			err = check_mem_access(env, st, *pc, in->dst_reg, in->off, size, ACC_WRITE, &tmp,
					       in->src_reg, 0, NULL, false);
			break;
		}
		/* atomic */
		if (f->regs[in->src_reg].type != SCALAR)
			return reject(env, *pc, -BPF_EACCES, "R%u atomic operand must be a scalar", in->src_reg);
		if (in->imm == BPF_CMPXCHG) {
			if ((err = check_read(env, st, *pc, 0)))
				return err;
			if (f->regs[0].type != SCALAR)
				return reject(env, *pc, -BPF_EACCES, "R0 cmpxchg comparand must be a scalar");
		}
		if ((in->imm & BPF_FETCH) && in->imm != BPF_CMPXCHG && (err = check_write(env, *pc, in->src_reg)))
			return err;
		tmp = f->regs[in->src_reg];
		err = check_mem_access(env, st, *pc, in->dst_reg, in->off, size, ACC_ATOMIC, &tmp, in->src_reg, 0,
				       NULL, false);
		if (err)
			return err;
		if (in->imm == BPF_CMPXCHG)
			set_loaded(&f->regs[0], size, false);
		else if (in->imm & BPF_FETCH)
			set_loaded(&f->regs[in->src_reg], size, false);
		break;
	default: /* JMP, JMP32 */
		if (op == BPF_JA) {
			*pc = (uint32_t)bpf_jump_target(in, *pc);
			return 0;
		}
		if (op == BPF_EXIT)
			return do_exit(env, st, pc);
		if (op == BPF_CALL) {
			if (in->src_reg == BPF_PSEUDO_CALL)
				return do_local_call(env, st, pc, in);
			err = do_helper(env, st, *pc, in);
			break;
		}
		return do_cond_jump(env, st, pc, in);
	}
	if (err)
		return err;
	*pc += 1;
	return 0;
}

/* -------------------------------------------------------------------- CFG */

/* registers read (use) and written (def) by insn pc, for liveness */
static void use_def(struct venv *env, uint32_t pc, uint16_t *use, uint16_t *def)
{
	const struct bpf_insn *in = &env->insns[pc];
	uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
	bool x = BPF_SRC(in->code) == BPF_X;
	uint16_t d = (uint16_t)(1u << in->dst_reg), s = (uint16_t)(1u << in->src_reg);

	*use = *def = 0;
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		*def = d;
		if (op != BPF_MOV)
			*use |= d;
		if (x && op != BPF_END)
			*use |= s;
		break;
	case BPF_LD:
		*def = d;
		break;
	case BPF_LDX:
		*use = s;
		*def = d;
		break;
	case BPF_ST:
		*use = d;
		break;
	case BPF_STX:
		*use = d | s;
		if (BPF_MODE(in->code) == BPF_ATOMIC) {
			if (in->imm == BPF_CMPXCHG) {
				*use |= 1;
				*def = 1;
			} else if (in->imm & BPF_FETCH) {
				*def = s;
			}
		}
		break;
	default:
		if (op == BPF_EXIT) {
			*use = 1;
		} else if (op == BPF_CALL) {
			const struct bpf_helper_proto *p =
				in->src_reg ? NULL : bpf_helper_proto((uint32_t)in->imm);
			uint32_t n = p ? p->nargs : 5;

			*use = (uint16_t)(((1u << n) - 1) << 1);
			*def = 0x3f;
		} else if (op != BPF_JA) {
			*use = x ? (d | s) : d;
		}
	}
}

static void compute_liveness(struct venv *env)
{
	bool changed = true;
	uint32_t pc, rounds = 0;

	while (changed && rounds++ < 64) {
		changed = false;
		for (pc = env->cnt; pc-- > 0;) {
			const struct bpf_insn *in = &env->insns[pc];
			uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
			uint16_t use, def, out = 0, nl;

			if (env->flags[pc] & F_HALF)
				continue;
			use_def(env, pc, &use, &def);
			if (bpf_is_lddw(in)) {
				out = pc + 2 < env->cnt ? env->live[pc + 2] : 0;
			} else if (cls == BPF_JMP || cls == BPF_JMP32) {
				if (op == BPF_JA) {
					out = env->live[bpf_jump_target(in, pc)];
				} else if (op != BPF_EXIT) {
					out = pc + 1 < env->cnt ? env->live[pc + 1] : 0;
					if (op != BPF_CALL)
						out |= env->live[bpf_jump_target(in, pc)];
				}
			} else {
				out = pc + 1 < env->cnt ? env->live[pc + 1] : 0;
			}
			nl = (uint16_t)(use | (out & ~def));
			if (nl != env->live[pc]) {
				env->live[pc] = nl;
				changed = true;
			}
		}
	}
	if (changed) /* not converged (huge loops): be conservative, everything live */
		for (pc = 0; pc < env->cnt; pc++)
			env->live[pc] = 0x3ff;
}

static int check_cfg(struct venv *env)
{
	const struct bpf_insn *insns = env->insns;
	uint32_t cnt = env->cnt, pc, bad, entry = 0, *stack, sp = 0;
	char msg[128];
	bool has_exit = false;
	int err;

	err = bpf_check_structure(insns, cnt, msg, sizeof(msg), &bad);
	if (err)
		return reject(env, bad, err, "%s", msg);
	/* subprogram entries, lddw second halves, prune points */
	env->flags[0] |= F_SUBPROG;
	for (pc = 0; pc < cnt; pc++) {
		const struct bpf_insn *in = &insns[pc];

		if (bpf_is_lddw(in)) {
			env->flags[++pc] |= F_HALF;
			continue;
		}
		if (BPF_CLASS(in->code) == BPF_JMP && BPF_OP(in->code) == BPF_CALL &&
		    in->src_reg == BPF_PSEUDO_CALL) {
			env->flags[pc + in->imm + 1] |= F_SUBPROG | F_PRUNE;
			if (pc + 1 < cnt)
				env->flags[pc + 1] |= F_PRUNE;
		} else if (BPF_OP(in->code) == BPF_JA &&
			   (BPF_CLASS(in->code) == BPF_JMP || BPF_CLASS(in->code) == BPF_JMP32)) {
			env->flags[bpf_jump_target(in, pc)] |= F_PRUNE;
		} else if (bpf_is_cond_jump(in)) {
			env->flags[bpf_jump_target(in, pc)] |= F_PRUNE;
			if (pc + 1 < cnt) /* else rejected below: the last insn must end the program */
				env->flags[pc + 1] |= F_PRUNE;
		}
		if (in->code == (BPF_JMP | BPF_EXIT))
			has_exit = true;
	}
	if (!has_exit)
		return reject(env, cnt - 1, -BPF_EINVAL, "no exit instruction");
	/* which subprogram each insn belongs to; jumps stay inside; each ends in exit/ja */
	for (pc = 0; pc < cnt; pc++) {
		if (env->flags[pc] & F_SUBPROG)
			entry = pc;
		env->subprog[pc] = entry;
	}
	for (pc = 0; pc < cnt; pc++) {
		const struct bpf_insn *in = &insns[pc];
		uint8_t cls = BPF_CLASS(in->code), op = BPF_OP(in->code);
		int64_t t;

		if (env->flags[pc] & F_HALF)
			continue;
		if (pc + 1 == cnt || (env->flags[pc + 1] & F_SUBPROG)) {
			bool ends = (cls == BPF_JMP || cls == BPF_JMP32) && (op == BPF_EXIT || op == BPF_JA);

			if (!ends)
				return reject(env, pc, -BPF_EINVAL,
					      "last insn of subprogram is not an exit or unconditional jump");
		}
		if ((cls != BPF_JMP && cls != BPF_JMP32) || op == BPF_EXIT || op == BPF_CALL)
			continue;
		t = bpf_jump_target(in, pc);
		if (env->subprog[t] != env->subprog[pc])
			return reject(env, pc, -BPF_EINVAL, "jump from insn %u to %lld leaves the subprogram", pc,
				      (long long)t);
		if (!env->loops && t <= pc)
			return reject(env, pc, -BPF_EINVAL, "back-edge from insn %u to %lld (loops need the cloud profile)",
				      pc, (long long)t);
	}
	/* reachability: depth-first from insn 0 over jumps, fall-throughs and calls */
	stack = bpf_zalloc((size_t)cnt * sizeof(uint32_t) * 2 + 8);
	if (!stack)
		return reject(env, 0, -BPF_ENOMEM, "out of memory");
	stack[sp++] = 0;
	env->flags[0] |= F_SEEN;
	while (sp) {
		const struct bpf_insn *in;
		uint8_t cls, op;
		int64_t next[2] = { -1, -1 };
		int k;

		pc = stack[--sp];
		in = &insns[pc];
		cls = BPF_CLASS(in->code);
		op = BPF_OP(in->code);
		if (bpf_is_lddw(in)) {
			next[0] = pc + 2;
			if (in->src_reg == BPF_PSEUDO_FUNC)
				next[1] = (int64_t)pc + in->imm + 1;
		} else if (cls == BPF_JMP || cls == BPF_JMP32) {
			if (op == BPF_JA)
				next[0] = bpf_jump_target(in, pc);
			else if (op == BPF_CALL)
				next[0] = pc + 1, next[1] = in->src_reg == BPF_PSEUDO_CALL ? (int64_t)pc + in->imm + 1 : -1;
			else if (op != BPF_EXIT)
				next[0] = pc + 1, next[1] = bpf_jump_target(in, pc);
		} else {
			next[0] = pc + 1;
		}
		for (k = 0; k < 2; k++) {
			if (next[k] < 0 || next[k] >= cnt || (env->flags[next[k]] & F_SEEN))
				continue;
			env->flags[next[k]] |= F_SEEN;
			stack[sp++] = (uint32_t)next[k];
		}
	}
	kfree(stack);
	for (pc = 0; pc < cnt; pc++)
		if (!(env->flags[pc] & (F_SEEN | F_HALF)))
			return reject(env, pc, -BPF_EINVAL, "unreachable insn %u", pc);
	compute_liveness(env);
	return 0;
}

/* ------------------------------------------------------------------- main */

static int init_state(struct venv *env, struct vstate *st)
{
	struct vframe *f = frame_new();

	if (!f)
		return reject(env, 0, -BPF_ENOMEM, "out of memory");
	memset(st, 0, sizeof(*st));
	st->f[0] = f;
	st->nframes = 1;
	f->callsite = 0xffffffffu;
	f->regs[10].type = PTR_TO_STACK;
	bpf_range_const(&f->regs[10].v, 0);
	if (env->ti->ctx_size == 0) {
		/* AXIOM_MEM: r1 = memory of mem_size bytes, r2 = mem_size */
		f->regs[1].type = PTR_TO_MEM;
		f->regs[1].size = env->o->mem_size;
		bpf_range_const(&f->regs[1].v, 0);
		set_const(&f->regs[2], env->o->mem_size);
	} else {
		f->regs[1].type = PTR_TO_CTX;
		f->regs[1].size = env->ti->ctx_size;
		bpf_range_const(&f->regs[1].v, 0);
	}
	return 0;
}

static int do_check(struct venv *env)
{
	struct vstate st;
	uint32_t pc = 0;
	int r;

	if ((r = init_state(env, &st)))
		return r;
	env->max_depth = 1;
	for (;;) {
		if (env->flags[pc] & F_PRUNE) {
			r = visit_state(env, &st, pc);
			if (r < 0)
				break;
			if (r == 1) {
				if (env->level >= 2)
					vlog(env, "%u: safe (pruned)\n", pc);
				goto next_path;
			}
		}
		if (++env->processed > env->limit) {
			r = reject(env, pc, -BPF_E2BIG, "program too complex: processed %u insns (limit %u)",
				   env->processed, env->limit);
			break;
		}
		if (env->level >= 2)
			log_state(env, &st, pc);
		if ((r = trace_push(env, pc, st.nframes)))
			break;
		r = do_insn(env, &st, &pc);
		if (r < 0)
			break;
		if (r == 0)
			continue;
next_path:
		state_free(&st);
		if (env->nstack == 0) {
			r = 0;
			break;
		}
		env->nstack--;
		st = env->stack[env->nstack].st;
		pc = env->stack[env->nstack].pc;
		while (env->npath > env->stack[env->nstack].path_len)
			env->path[--env->npath]->on_path = false;
		env->ntrace = env->stack[env->nstack].trace_len;
		if (env->precise_upto > env->ntrace)
			env->precise_upto = env->ntrace;
		if (env->level >= 2)
			vlog(env, "from branch: continue at %u\n", pc);
	}
	state_free(&st);
	return r;
}

int bpf_verify(const struct bpf_insn *insns, uint32_t cnt, const struct bpf_verify_opts *o,
	       struct bpf_verify_result *res)
{
	struct venv *env;
	uint32_t i;
	int err;

	env = bpf_zalloc(sizeof(*env));
	if (!env)
		return -BPF_ENOMEM;
	env->insns = insns;
	env->cnt = cnt;
	env->o = o;
	env->log = o->log;
	env->log_size = o->log_size;
	env->level = o->log_level;
	if (env->log && env->log_size)
		env->log[0] = 0;
	env->loops = o->profile == BPF_PROFILE_CLOUD;
	env->limit = env->loops ? 1000000 : 100000;
	env->max_states = env->loops ? 16384 : 2048;
	env->max_pending = env->loops ? 32768 : 8192; /* branches waiting to be explored */
	env->ti = bpf_prog_type_info(o->prog_type);
	if (!env->ti) {
		err = reject(env, 0, -BPF_EINVAL, "unknown program type %u", o->prog_type);
		goto out;
	}
	if (cnt == 0 || cnt > BPF_MAXINSNS) {
		err = reject(env, 0, cnt ? -BPF_E2BIG : -BPF_EINVAL, "%s (%u insns)",
			     cnt ? "program too large" : "empty program", cnt);
		goto out;
	}
	env->flags = bpf_zalloc(cnt);
	env->live = bpf_zalloc((size_t)cnt * sizeof(uint16_t));
	env->subprog = bpf_zalloc((size_t)cnt * sizeof(uint32_t));
	env->explored = bpf_zalloc((size_t)cnt * sizeof(struct vstored *));
	env->nexplored = bpf_zalloc((size_t)cnt * sizeof(uint16_t));
	if (!env->flags || !env->live || !env->subprog || !env->explored || !env->nexplored) {
		err = reject(env, 0, -BPF_ENOMEM, "out of memory");
		goto out;
	}
	err = check_cfg(env);
	if (!err)
		err = do_check(env);
	if (env->level >= 1)
		vlog(env, "%s: processed %u insns (limit %u), %u stored states, max call depth %u\n",
		     err ? "rejected" : "accepted", env->processed, env->limit, env->nstates, env->max_depth);
out:
	if (res) {
		res->processed = env->processed;
		res->max_call_depth = env->max_depth ? env->max_depth : 1;
		res->states = env->nstates;
	}
	while (env->nstack)
		state_free(&env->stack[--env->nstack].st);
	kfree(env->stack);
	kfree(env->path);
	kfree(env->trace);
	if (env->explored) {
		for (i = 0; i < cnt; i++) {
			struct vstored *s = env->explored[i], *n;

			for (; s; s = n) {
				n = s->next;
				state_free(&s->st);
				kfree(s);
			}
		}
	}
	kfree(env->explored);
	kfree(env->nexplored);
	kfree(env->flags);
	kfree(env->live);
	kfree(env->subprog);
	kfree(env);
	return err;
}
