/* SPDX-License-Identifier: MIT */
/*
 * syscall.c - bpf objects (programs and maps with ids and reference counts),
 * the bpf() command dispatcher, attach points and test runs.
 *
 * bpf_cmd() works on a kernel copy of the attribute; pointers inside it are
 * user addresses reached through the struct bpf_uaccess callbacks (NULL: plain
 * kernel/host pointers). Every PROG_LOAD is verified; only the host build
 * accepts BPF_F_AXIOM_UNVERIFIED, whose programs run in checked mode.
 */
#include "bpf_internal.h"

#define BPF_MAX_OBJS 1024
#define BPF_MAX_ATTACH 8
#define NATTACH (BPF_AXIOM_ATTACH_MAX - BPF_AXIOM_SYSCALL_ENTER)

enum { OBJ_FREE = 0, OBJ_PROG = 1, OBJ_MAP = 2 };

struct obj {
	uint32_t id;
	uint8_t kind;
	bool closed; /* creator's reference dropped */
	void *p;
};

static struct obj objs[BPF_MAX_OBJS];
static uint32_t next_id = 1;
static bpf_lock_t obj_lock;
static uint64_t map_mem_used;
#if defined(AXIOM_PROFILE_CLOUD) /* set by the kernel Makefile for PROFILE=cloud */
static uint32_t profile = BPF_PROFILE_CLOUD;
#else
static uint32_t profile = BPF_PROFILE_EMBEDDED;
#endif
static struct bpf_prog *attached[NATTACH][BPF_MAX_ATTACH];
static uint32_t nattached[NATTACH];
volatile uint32_t bpf_hook_count[NATTACH];
static char last_error[192];

const char *bpf_last_error(void)
{
	return last_error;
}

static void set_error(const char *msg)
{
	size_t n = strlen(msg);

	if (n >= sizeof(last_error))
		n = sizeof(last_error) - 1;
	memcpy(last_error, msg, n);
	last_error[n] = 0;
}

void bpf_set_profile(uint32_t p)
{
	if (p == BPF_PROFILE_EMBEDDED || p == BPF_PROFILE_CLOUD)
		profile = p;
}

uint32_t bpf_get_profile(void)
{
	return profile;
}

static uint64_t map_budget(void)
{
	return profile == BPF_PROFILE_CLOUD ? (256ull << 20) : (4ull << 20);
}

void bpf_subsys_init(void)
{
	memset(objs, 0, sizeof(objs));
	memset(attached, 0, sizeof(attached));
	memset(nattached, 0, sizeof(nattached));
	memset((void *)bpf_hook_count, 0, sizeof(bpf_hook_count));
	next_id = 1;
	map_mem_used = 0;
}

/* ---------------------------------------------------------- user memory */

static long copy_in(const struct bpf_uaccess *ua, void *dst, uint64_t src, size_t n)
{
	if (n == 0)
		return 0;
	if (!src)
		return -BPF_EFAULT;
	if (ua)
		return ua->from(dst, src, n);
	memcpy(dst, (const void *)(uintptr_t)src, n);
	return 0;
}

static long copy_out(const struct bpf_uaccess *ua, uint64_t dst, const void *src, size_t n)
{
	if (n == 0)
		return 0;
	if (!dst)
		return -BPF_EFAULT;
	if (ua)
		return ua->to(dst, src, n);
	memcpy((void *)(uintptr_t)dst, src, n);
	return 0;
}

/* ------------------------------------------------------------- objects */

static struct obj *find_obj(uint32_t id, uint8_t kind)
{
	uint32_t i;

	for (i = 0; i < BPF_MAX_OBJS; i++)
		if (objs[i].kind == kind && objs[i].id == id)
			return &objs[i];
	return NULL;
}

static long add_obj(uint8_t kind, void *p, uint32_t *id)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	uint32_t i;

	for (i = 0; i < BPF_MAX_OBJS; i++) {
		if (objs[i].kind == OBJ_FREE) {
			objs[i].kind = kind;
			objs[i].closed = false;
			objs[i].p = p;
			objs[i].id = *id = next_id++;
			bpf_env_unlock(&obj_lock, irq);
			return 0;
		}
	}
	bpf_env_unlock(&obj_lock, irq);
	return -BPF_ENOSPC;
}

/* Take a reference on the live object `id`, or NULL. */
static void *get_obj(uint32_t id, uint8_t kind)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	struct obj *o = find_obj(id, kind);
	void *p = NULL;

	if (o && !o->closed) {
		p = o->p;
		if (kind == OBJ_MAP)
			((struct bpf_map *)p)->refcnt++;
		else
			((struct bpf_prog *)p)->refcnt++;
	}
	bpf_env_unlock(&obj_lock, irq);
	return p;
}

static void put_map(struct bpf_map *m)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	bool last = --m->refcnt == 0;
	struct obj *o = last ? find_obj(m->id, OBJ_MAP) : NULL;

	if (o)
		o->kind = OBJ_FREE;
	if (last)
		map_mem_used -= m->mem_bytes;
	bpf_env_unlock(&obj_lock, irq);
	if (last)
		bpf_map_free(m);
}

static void put_prog(struct bpf_prog *p)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	bool last = --p->refcnt == 0;
	struct obj *o = last ? find_obj(p->id, OBJ_PROG) : NULL;
	uint32_t i;

	if (o)
		o->kind = OBJ_FREE;
	bpf_env_unlock(&obj_lock, irq);
	if (!last)
		return;
	for (i = 0; i < p->nr_maps; i++)
		put_map(p->maps[i]);
	kfree(p->insns);
	kfree(p->orig);
	kfree(p);
}

bool bpf_prog_has_map(const struct bpf_prog *p, const struct bpf_map *m)
{
	uint32_t i;

	for (i = 0; i < p->nr_maps; i++)
		if (p->maps[i] == m)
			return true;
	return false;
}

/* ---------------------------------------------------------------- maps */

static long map_create(union bpf_attr *attr)
{
	struct bpf_map *m;
	long err = bpf_map_alloc(attr, &m);
	unsigned long irq;

	if (err)
		return err;
	irq = bpf_env_lock(&obj_lock);
	if (map_mem_used + m->mem_bytes > map_budget()) {
		bpf_env_unlock(&obj_lock, irq);
		bpf_map_free(m);
		set_error("map memory budget of the profile exceeded");
		return -BPF_ENOMEM;
	}
	map_mem_used += m->mem_bytes;
	bpf_env_unlock(&obj_lock, irq);
	m->refcnt = 1;
	err = add_obj(OBJ_MAP, m, &m->id);
	if (err) {
		map_mem_used -= m->mem_bytes;
		bpf_map_free(m);
		return err;
	}
	return m->id;
}

static long map_elem(int cmd, union bpf_attr *attr, const struct bpf_uaccess *ua)
{
	struct bpf_map *m = get_obj(attr->map_fd, OBJ_MAP);
	uint8_t *key = NULL, *val = NULL, *next = NULL;
	uint32_t vsz;
	long err;

	if (!m)
		return -BPF_EBADF;
	vsz = bpf_map_syscall_value_size(m);
	if (cmd == BPF_MAP_LOOKUP_AND_DELETE_ELEM) {
		uint64_t cap = attr->flags < m->max_entries ? attr->flags : m->max_entries;

		err = -BPF_ENOMEM;
		val = bpf_zalloc((size_t)cap);
		if (val) {
			err = bpf_ringbuf_consume(m, val, cap);
			if (err > 0 && copy_out(ua, attr->value, val, (size_t)err))
				err = -BPF_EFAULT;
		}
		goto out;
	}
	key = bpf_zalloc(m->key_size ? m->key_size : 1);
	val = bpf_zalloc(vsz ? vsz : 1);
	next = bpf_zalloc(m->key_size ? m->key_size : 1);
	err = -BPF_ENOMEM;
	if (!key || !val || !next)
		goto out;
	err = -BPF_EFAULT;
	if (!(cmd == BPF_MAP_GET_NEXT_KEY && !attr->key) && copy_in(ua, key, attr->key, m->key_size))
		goto out;
	switch (cmd) {
	case BPF_MAP_LOOKUP_ELEM:
		err = bpf_map_copy_value(m, key, val);
		if (!err && copy_out(ua, attr->value, val, vsz))
			err = -BPF_EFAULT;
		break;
	case BPF_MAP_UPDATE_ELEM:
		if (copy_in(ua, val, attr->value, vsz))
			break;
		err = bpf_map_update_from_user(m, key, val, attr->flags);
		break;
	case BPF_MAP_DELETE_ELEM:
		err = bpf_map_delete(m, key);
		break;
	default: /* GET_NEXT_KEY */
		err = bpf_map_get_next_key(m, attr->key ? key : NULL, next);
		if (!err && copy_out(ua, attr->next_key, next, m->key_size))
			err = -BPF_EFAULT;
	}
out:
	kfree(key);
	kfree(val);
	kfree(next);
	put_map(m);
	return err;
}

/* -------------------------------------------------------------- programs */

static void log_out(const struct bpf_uaccess *ua, union bpf_attr *attr, char *log)
{
	if (log && attr->log_buf && attr->log_size)
		copy_out(ua, attr->log_buf, log, strlen(log) + 1);
}

/* Resolve every map reference of the program; maps_at[pc] names the map of the
 * lddw at pc for the verifier. */
static long resolve_maps(struct bpf_prog *p, const uint32_t *fd_array, uint32_t fd_cnt,
			 struct bpf_map **maps_at, char *msg, size_t msz)
{
	uint32_t pc, i, id;

	for (pc = 0; pc + 1 < p->insn_cnt; pc++) {
		struct bpf_insn *in = &p->orig[pc];
		struct bpf_map *m = NULL;

		if (!bpf_is_lddw(in))
			continue;
		switch (in->src_reg) {
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_VALUE:
			id = (uint32_t)in->imm;
			break;
		case BPF_PSEUDO_MAP_IDX:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			if ((uint32_t)in->imm >= fd_cnt) {
				snprintf(msg, msz, "%u: lddw map index %d outside fd_array (%u entries)", pc, in->imm,
					 fd_cnt);
				return -BPF_EINVAL;
			}
			id = fd_array[in->imm];
			break;
		default:
			pc++;
			continue;
		}
		for (i = 0; i < p->nr_maps; i++)
			if (p->maps[i]->id == id)
				m = p->maps[i];
		if (!m) {
			m = get_obj(id, OBJ_MAP);
			if (!m) {
				snprintf(msg, msz, "%u: lddw: no map with id %u", pc, id);
				return -BPF_EBADF;
			}
			if (p->nr_maps == BPF_MAX_USED_MAPS) {
				put_map(m);
				snprintf(msg, msz, "%u: more than %d maps used", pc, BPF_MAX_USED_MAPS);
				return -BPF_E2BIG;
			}
			p->maps[p->nr_maps++] = m;
		}
		maps_at[pc] = m;
		pc++;
	}
	return 0;
}

/* Rewrite map/code references of lddw into constants for the interpreter. */
static long fixup_lddw(struct bpf_prog *p, struct bpf_map **maps_at, char *msg, size_t msz)
{
	uint32_t pc;

	for (pc = 0; pc + 1 < p->insn_cnt; pc++) {
		struct bpf_insn *in = &p->insns[pc];
		uint64_t v;

		if (!bpf_is_lddw(in))
			continue;
		switch (in->src_reg) {
		case 0:
			pc++;
			continue;
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_IDX:
			v = (uintptr_t)maps_at[pc];
			break;
		case BPF_PSEUDO_MAP_VALUE:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			if (maps_at[pc]->type != BPF_MAP_TYPE_ARRAY ||
			    (uint32_t)p->insns[pc + 1].imm >= maps_at[pc]->value_size) {
				snprintf(msg, msz, "%u: lddw: invalid direct map value reference", pc);
				return -BPF_EINVAL;
			}
			v = (uintptr_t)maps_at[pc]->data + (uint32_t)p->insns[pc + 1].imm;
			break;
		case BPF_PSEUDO_FUNC:
			v = (uintptr_t)&p->insns[pc + in->imm + 1];
			break;
		default:
			snprintf(msg, msz, "%u: lddw: variable addresses (src_reg 3) are not supported", pc);
			return -BPF_EINVAL;
		}
		in->src_reg = 0;
		in->imm = (int32_t)(uint32_t)v;
		p->insns[pc + 1].imm = (int32_t)(uint32_t)(v >> 32);
		pc++;
	}
	return 0;
}

static long prog_load(union bpf_attr *attr, const struct bpf_uaccess *ua)
{
	struct bpf_prog *p;
	struct bpf_map **maps_at = NULL;
	uint32_t fd_array[64];
	char *log = NULL, msg[160];
	size_t log_size = attr->log_size;
	bool unverified = attr->prog_flags & BPF_F_AXIOM_UNVERIFIED;
	long err;
	uint32_t i, bad;

	msg[0] = 0;
	if (!bpf_prog_type_info(attr->prog_type)) {
		set_error("unknown program type");
		return -BPF_EINVAL;
	}
	if (attr->prog_flags & ~BPF_F_AXIOM_UNVERIFIED)
		return -BPF_EINVAL;
#ifndef BPF_HOST
	if (unverified)
		return -BPF_EPERM; /* the kernel verifies every load */
#endif
	if (attr->insn_cnt == 0 || attr->insn_cnt > BPF_MAXINSNS) {
		set_error(attr->insn_cnt ? "program too large" : "empty program");
		return attr->insn_cnt ? -BPF_E2BIG : -BPF_EINVAL;
	}
	if (attr->fd_array_cnt > 64)
		return -BPF_E2BIG;
	if (attr->fd_array_cnt && copy_in(ua, fd_array, attr->fd_array, attr->fd_array_cnt * 4u))
		return -BPF_EFAULT;
	p = bpf_zalloc(sizeof(*p));
	if (!p)
		return -BPF_ENOMEM;
	p->refcnt = 1;
	p->type = attr->prog_type;
	p->insn_cnt = attr->insn_cnt;
	p->mem_size = attr->mem_size;
	for (i = 0; i < BPF_OBJ_NAME_LEN - 1 && attr->prog_name[i]; i++)
		p->name[i] = attr->prog_name[i];
	err = -BPF_ENOMEM;
	p->orig = kmalloc((size_t)p->insn_cnt * sizeof(struct bpf_insn));
	p->insns = kmalloc((size_t)p->insn_cnt * sizeof(struct bpf_insn));
	maps_at = bpf_zalloc((size_t)p->insn_cnt * sizeof(*maps_at));
	if (attr->log_level && attr->log_buf && log_size) {
		if (log_size > (16u << 20))
			log_size = 16u << 20;
		log = bpf_zalloc(log_size);
	}
	if (!p->orig || !p->insns || !maps_at || (attr->log_level && attr->log_buf && log_size && !log))
		goto fail;
	err = -BPF_EFAULT;
	if (copy_in(ua, p->orig, attr->insns, (size_t)p->insn_cnt * sizeof(struct bpf_insn)))
		goto fail;
	memcpy(p->insns, p->orig, (size_t)p->insn_cnt * sizeof(struct bpf_insn));
	err = bpf_check_structure(p->orig, p->insn_cnt, msg + 16, sizeof(msg) - 16, &bad);
	if (err) {
		char tmp[144];

		memcpy(tmp, msg + 16, sizeof(tmp));
		tmp[sizeof(tmp) - 1] = 0;
		snprintf(msg, sizeof(msg), "%u: %s", bad, tmp);
		goto fail;
	}
	err = resolve_maps(p, fd_array, attr->fd_array_cnt, maps_at, msg, sizeof(msg));
	if (err)
		goto fail;
	if (!unverified) {
		struct bpf_verify_opts o = {
			.prog_type = p->type,
			.profile = attr->profile ? attr->profile : profile,
			.log_level = log ? attr->log_level : 1,
			.log = log ? log : msg,
			.log_size = log ? log_size : sizeof(msg),
			.mem_size = p->mem_size,
			.maps = maps_at,
		};
		struct bpf_verify_result res;

		err = bpf_verify(p->orig, p->insn_cnt, &o, &res);
		attr->verified_insns = res.processed;
		p->verified_insns = res.processed;
		p->max_call_depth = res.max_call_depth;
		if (err) {
			if (log) /* first line of the log is the reason */
				snprintf(msg, sizeof(msg), "%s", log);
			goto fail;
		}
		p->verified = true;
	} else {
		p->max_call_depth = BPF_MAX_CALL_DEPTH;
	}
	err = fixup_lddw(p, maps_at, msg, sizeof(msg));
	if (err)
		goto fail;
	err = add_obj(OBJ_PROG, p, &p->id);
	if (err)
		goto fail;
	log_out(ua, attr, log);
	kfree(log);
	kfree(maps_at);
	return p->id;
fail:
	{
		/* keep only the first line as the one-line error */
		char *nl = msg;

		while (*nl && *nl != '\n')
			nl++;
		*nl = 0;
		set_error(msg[0] ? msg : "program load failed");
	}
	if (log && !log[0]) /* failed before the verifier: the loader's reason */
		snprintf(log, log_size, "%s\n", last_error);
	log_out(ua, attr, log);
	kfree(log);
	kfree(maps_at);
	p->refcnt = 1;
	for (i = 0; i < p->nr_maps; i++)
		put_map(p->maps[i]);
	kfree(p->orig);
	kfree(p->insns);
	kfree(p);
	return err;
}

static long prog_test_run(union bpf_attr *attr, const struct bpf_uaccess *ua)
{
	struct bpf_prog *p = get_obj(attr->test.prog_fd, OBJ_PROG);
	const struct bpf_prog_type_info *ti;
	uint8_t *buf = NULL;
	uint32_t size, rep, i;
	uint64_t r0 = 0, t0, t1;
	char err_msg[160];
	long err = 0;
	uint64_t in_ptr;
	uint32_t in_size;

	if (!p)
		return -BPF_EBADF;
	ti = bpf_prog_type_info(p->type);
	if (ti->ctx_size == 0) {
		size = attr->test.data_size_in;
		in_ptr = attr->test.data_in;
		in_size = size;
		if (p->verified && size != p->mem_size) {
			set_error("memory size differs from the size the program was verified for");
			err = -BPF_EINVAL;
			goto out;
		}
	} else {
		size = ti->ctx_size;
		in_ptr = attr->test.ctx_in;
		in_size = attr->test.ctx_size_in;
		if (in_size > size) {
			err = -BPF_EINVAL;
			goto out;
		}
	}
	if (size > (1u << 24)) {
		err = -BPF_E2BIG;
		goto out;
	}
	buf = bpf_zalloc(size ? size : 1);
	if (!buf) {
		err = -BPF_ENOMEM;
		goto out;
	}
	if (copy_in(ua, buf, in_ptr, in_size)) {
		err = -BPF_EFAULT;
		goto out;
	}
	rep = attr->test.repeat ? attr->test.repeat : 1;
	if (rep > 10000000)
		rep = 10000000;
	t0 = bpf_env_ktime_ns();
	for (i = 0; i < rep && !err; i++)
		err = bpf_interp_run(p, size ? buf : NULL, size, &r0, err_msg, sizeof(err_msg));
	t1 = bpf_env_ktime_ns();
	if (err) {
		set_error(err_msg);
		goto out;
	}
	attr->test.retval = (uint32_t)r0;
	attr->test.retval64 = r0;
	attr->test.duration = (uint32_t)((t1 - t0) / rep);
	if (ti->ctx_size == 0 && attr->test.data_out) {
		if (copy_out(ua, attr->test.data_out, buf, size))
			err = -BPF_EFAULT;
		attr->test.data_size_out = size;
	}
	if (ti->ctx_size && attr->test.ctx_out) {
		if (copy_out(ua, attr->test.ctx_out, buf, size))
			err = -BPF_EFAULT;
		attr->test.ctx_size_out = size;
	}
out:
	kfree(buf);
	put_prog(p);
	return err;
}

/* -------------------------------------------------------------- attach */

static long prog_attach(union bpf_attr *attr, bool attach)
{
	uint32_t t = attr->attach_type, slot, i, j;
	struct bpf_prog *p;
	unsigned long irq;
	long err = 0;

	if (t < BPF_AXIOM_SYSCALL_ENTER || t >= BPF_AXIOM_ATTACH_MAX)
		return -BPF_EINVAL;
	slot = t - BPF_AXIOM_SYSCALL_ENTER;
	p = get_obj(attr->attach_bpf_fd, OBJ_PROG);
	if (!p)
		return -BPF_EBADF;
	/* attach types mirror program types one to one */
	if (p->type - BPF_PROG_TYPE_AXIOM_SYSCALL_ENTER != slot || !p->verified) {
		put_prog(p);
		return -BPF_EINVAL;
	}
	irq = bpf_env_lock(&obj_lock);
	if (attach) {
		for (i = 0; i < nattached[slot]; i++)
			if (attached[slot][i] == p)
				err = -BPF_EEXIST;
		if (!err && nattached[slot] == BPF_MAX_ATTACH)
			err = -BPF_E2BIG;
		if (!err) {
			attached[slot][nattached[slot]++] = p; /* keeps our reference */
			p->attach_type = t;
			bpf_hook_count[slot] = nattached[slot];
		}
	} else {
		err = -BPF_ENOENT;
		for (i = 0; i < nattached[slot]; i++) {
			if (attached[slot][i] != p)
				continue;
			for (j = i; j + 1 < nattached[slot]; j++)
				attached[slot][j] = attached[slot][j + 1];
			nattached[slot]--;
			bpf_hook_count[slot] = nattached[slot];
			p->attach_type = 0;
			err = 0;
			break;
		}
	}
	bpf_env_unlock(&obj_lock, irq);
	if (err || !attach)
		put_prog(p); /* error: our get; detach: also the attachment's */
	if (!err && !attach)
		put_prog(p);
	return err;
}

long bpf_run_hook(uint32_t type, void *ctx, size_t ctx_size)
{
	struct bpf_prog *run[BPF_MAX_ATTACH];
	uint32_t n, i, slot;
	unsigned long irq;
	long verdict = 0;

	if (!bpf_hook_active(type))
		return 0;
	slot = type - BPF_AXIOM_SYSCALL_ENTER;
	irq = bpf_env_lock(&obj_lock);
	n = nattached[slot];
	for (i = 0; i < n; i++) {
		run[i] = attached[slot][i];
		run[i]->refcnt++;
	}
	bpf_env_unlock(&obj_lock, irq);
	for (i = 0; i < n; i++) {
		uint64_t r0 = 0, t0 = bpf_env_ktime_ns();

		if (bpf_interp_run(run[i], ctx, ctx_size, &r0, NULL, 0) == 0 && verdict == 0 &&
		    type == BPF_AXIOM_SYSCALL_ENTER && (int64_t)r0 < 0)
			verdict = (long)(int64_t)r0; /* the verifier bounded it to [-4095, 0] */
		run[i]->run_cnt++;
		run[i]->run_time_ns += bpf_env_ktime_ns() - t0;
		put_prog(run[i]);
	}
	return verdict;
}

/* ------------------------------------------------------------- queries */

static long next_id_of(union bpf_attr *attr, uint8_t kind)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	uint32_t i, best = 0;

	for (i = 0; i < BPF_MAX_OBJS; i++)
		if (objs[i].kind == kind && !objs[i].closed && objs[i].id > attr->start_id &&
		    (!best || objs[i].id < best))
			best = objs[i].id;
	bpf_env_unlock(&obj_lock, irq);
	if (!best)
		return -BPF_ENOENT;
	attr->next_id = best;
	return 0;
}

static long obj_info(union bpf_attr *attr, const struct bpf_uaccess *ua)
{
	uint32_t id = attr->info.bpf_fd, len = attr->info.info_len, i;
	struct bpf_prog *p = get_obj(id, OBJ_PROG);
	struct bpf_map *m;

	if (p) {
		struct bpf_prog_info pi;

		memset(&pi, 0, sizeof(pi));
		pi.type = p->type;
		pi.id = p->id;
		pi.insn_cnt = p->insn_cnt;
		pi.verified = p->verified;
		pi.attach_type = p->attach_type;
		pi.verified_insns = p->verified_insns;
		pi.run_cnt = p->run_cnt;
		pi.run_time_ns = p->run_time_ns;
		pi.nr_map_ids = p->nr_maps;
		for (i = 0; i < p->nr_maps && i < 8; i++)
			pi.map_ids[i] = p->maps[i]->id;
		memcpy(pi.name, p->name, sizeof(pi.name));
		put_prog(p);
		if (len > sizeof(pi))
			len = sizeof(pi);
		attr->info.info_len = len;
		return copy_out(ua, attr->info.info, &pi, len) ? -BPF_EFAULT : BPF_OBJ_INFO_PROG;
	}
	m = get_obj(id, OBJ_MAP);
	if (m) {
		struct bpf_map_info mi;

		memset(&mi, 0, sizeof(mi));
		mi.type = m->type;
		mi.id = m->id;
		mi.key_size = m->key_size;
		mi.value_size = m->value_size;
		mi.max_entries = m->max_entries;
		mi.map_flags = m->flags;
		mi.mem_bytes = m->mem_bytes;
		memcpy(mi.name, m->name, sizeof(mi.name));
		mi.syscall_value_size = bpf_map_syscall_value_size(m);
		put_map(m);
		if (len > sizeof(mi))
			len = sizeof(mi);
		attr->info.info_len = len;
		return copy_out(ua, attr->info.info, &mi, len) ? -BPF_EFAULT : BPF_OBJ_INFO_MAP;
	}
	return -BPF_EBADF;
}

static long obj_close(uint32_t id)
{
	unsigned long irq = bpf_env_lock(&obj_lock);
	struct obj *o = NULL;
	uint32_t i;
	void *ptr;
	uint8_t kind;

	for (i = 0; i < BPF_MAX_OBJS; i++)
		if (objs[i].kind != OBJ_FREE && objs[i].id == id && !objs[i].closed)
			o = &objs[i];
	if (!o) {
		bpf_env_unlock(&obj_lock, irq);
		return -BPF_EBADF;
	}
	o->closed = true;
	ptr = o->p;
	kind = o->kind;
	bpf_env_unlock(&obj_lock, irq);
	if (kind == OBJ_MAP)
		put_map(ptr);
	else
		put_prog(ptr);
	return 0;
}

long bpf_cmd(int cmd, union bpf_attr *attr, const struct bpf_uaccess *ua)
{
	last_error[0] = 0;
	switch (cmd) {
	case BPF_MAP_CREATE:
		return map_create(attr);
	case BPF_MAP_LOOKUP_ELEM:
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_GET_NEXT_KEY:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
		return map_elem(cmd, attr, ua);
	case BPF_PROG_LOAD:
		return prog_load(attr, ua);
	case BPF_PROG_ATTACH:
		return prog_attach(attr, true);
	case BPF_PROG_DETACH:
		return prog_attach(attr, false);
	case BPF_PROG_TEST_RUN:
		return prog_test_run(attr, ua);
	case BPF_PROG_GET_NEXT_ID:
		return next_id_of(attr, OBJ_PROG);
	case BPF_MAP_GET_NEXT_ID:
		return next_id_of(attr, OBJ_MAP);
	case BPF_PROG_GET_FD_BY_ID:
	case BPF_MAP_GET_FD_BY_ID: {
		uint8_t kind = cmd == BPF_PROG_GET_FD_BY_ID ? OBJ_PROG : OBJ_MAP;
		unsigned long irq = bpf_env_lock(&obj_lock);
		struct obj *o = find_obj(attr->start_id, kind);
		long r = o && !o->closed ? (long)o->id : -BPF_ENOENT;

		bpf_env_unlock(&obj_lock, irq);
		return r;
	}
	case BPF_OBJ_GET_INFO_BY_FD:
		return obj_info(attr, ua);
	case BPF_OBJ_CLOSE:
		return obj_close(attr->start_id);
	default:
		return -BPF_EINVAL;
	}
}
