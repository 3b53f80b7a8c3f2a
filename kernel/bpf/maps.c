/* SPDX-License-Identifier: MIT */
/*
 * maps.c - array, hash, per-CPU array and ring buffer maps.
 *
 * All storage is allocated when the map is created (hash elements come from a
 * preallocated pool), so a program never allocates and a value pointer handed
 * to a program stays inside live map memory until the map is freed; programs
 * hold a reference on every map they use. Values are 8-byte aligned so the
 * verifier's alignment rule for atomics holds at run time.
 */
#include "bpf_internal.h"

#define HASH_NONE 0xffffffffu

static uint32_t round8(uint32_t x)
{
	return (x + 7) & ~7u;
}

/* FNV-1a over the key bytes */
static uint32_t hash_key(const void *key, uint32_t n)
{
	const uint8_t *p = key;
	uint32_t h = 2166136261u, i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint8_t *hash_elem(const struct bpf_map *m, uint32_t i)
{
	return m->data + (size_t)i * (m->key_stride + m->stride);
}

static void *alloc_checked(uint64_t n, struct bpf_map *m)
{
	if (n > (uint64_t)1 << 40)
		return NULL;
	m->mem_bytes += n;
	return bpf_zalloc((size_t)n);
}

int bpf_map_alloc(const union bpf_attr *attr, struct bpf_map **out)
{
	struct bpf_map *m;
	uint64_t n;
	uint32_t i;

	*out = NULL;
	if (attr->max_entries == 0 || attr->map_flags)
		return -BPF_EINVAL;
	switch (attr->map_type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		if (attr->key_size != 4 || attr->value_size == 0 || attr->value_size > (1u << 20))
			return -BPF_EINVAL;
		break;
	case BPF_MAP_TYPE_HASH:
		if (attr->key_size == 0 || attr->key_size > 512 || attr->value_size == 0 ||
		    attr->value_size > (1u << 20))
			return -BPF_EINVAL;
		break;
	case BPF_MAP_TYPE_RINGBUF:
		/* size in max_entries: a power of two, at least 64 bytes */
		if (attr->key_size || attr->value_size || attr->max_entries < 64 ||
		    (attr->max_entries & (attr->max_entries - 1)))
			return -BPF_EINVAL;
		break;
	default:
		return -BPF_EINVAL;
	}
	m = bpf_zalloc(sizeof(*m));
	if (!m)
		return -BPF_ENOMEM;
	m->type = attr->map_type;
	m->key_size = attr->key_size;
	m->value_size = attr->value_size;
	m->max_entries = attr->max_entries;
	m->stride = round8(attr->value_size);
	m->key_stride = round8(attr->key_size);
	m->ncpus = 1;
	m->mem_bytes = sizeof(*m);
	for (i = 0; i < BPF_OBJ_NAME_LEN - 1 && attr->map_name[i]; i++)
		m->name[i] = attr->map_name[i];

	switch (m->type) {
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		m->ncpus = bpf_env_ncpus();
		if (m->ncpus == 0)
			m->ncpus = 1;
		/* fall through */
	case BPF_MAP_TYPE_ARRAY:
		n = (uint64_t)m->stride * m->max_entries * m->ncpus;
		m->data_size = (size_t)n;
		m->data = alloc_checked(n, m);
		break;
	case BPF_MAP_TYPE_HASH:
		n = (uint64_t)(m->key_stride + m->stride) * m->max_entries;
		m->data_size = (size_t)n;
		m->data = alloc_checked(n, m);
		m->nbuckets = 1;
		while (m->nbuckets < m->max_entries && m->nbuckets < (1u << 20))
			m->nbuckets <<= 1;
		m->buckets = alloc_checked((uint64_t)m->nbuckets * 4, m);
		m->next = alloc_checked((uint64_t)m->max_entries * 4, m);
		m->used = alloc_checked(m->max_entries, m);
		if (m->buckets && m->next) {
			for (i = 0; i < m->nbuckets; i++)
				m->buckets[i] = HASH_NONE;
			for (i = 0; i < m->max_entries; i++)
				m->next[i] = i + 1 < m->max_entries ? i + 1 : HASH_NONE;
		}
		m->free_head = 0;
		break;
	case BPF_MAP_TYPE_RINGBUF:
		m->data_size = m->max_entries;
		m->data = alloc_checked(m->max_entries, m);
		break;
	}
	if (!m->data || (m->type == BPF_MAP_TYPE_HASH && (!m->buckets || !m->next || !m->used))) {
		bpf_map_free(m);
		return -BPF_ENOMEM;
	}
	*out = m;
	return 0;
}

void bpf_map_free(struct bpf_map *m)
{
	if (!m)
		return;
	kfree(m->data);
	kfree(m->buckets);
	kfree(m->next);
	kfree(m->used);
	kfree(m);
}

/* ---- hash internals (caller holds the lock) ---- */
static uint32_t hash_find(const struct bpf_map *m, const void *key, uint32_t *bucket)
{
	uint32_t b = hash_key(key, m->key_size) & (m->nbuckets - 1), i;

	if (bucket)
		*bucket = b;
	for (i = m->buckets[b]; i != HASH_NONE; i = m->next[i])
		if (!memcmp(hash_elem(m, i), key, m->key_size))
			return i;
	return HASH_NONE;
}

static long hash_update(struct bpf_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t b, i;
	unsigned long irq;
	long ret = 0;

	irq = bpf_env_lock(&m->lock);
	i = hash_find(m, key, &b);
	if (i != HASH_NONE) {
		if (flags == BPF_NOEXIST)
			ret = -BPF_EEXIST;
		else
			memcpy(hash_elem(m, i) + m->key_stride, value, m->value_size);
	} else if (flags == BPF_EXIST) {
		ret = -BPF_ENOENT;
	} else if (m->free_head == HASH_NONE) {
		ret = -BPF_E2BIG;
	} else {
		i = m->free_head;
		m->free_head = m->next[i];
		memcpy(hash_elem(m, i), key, m->key_size);
		memcpy(hash_elem(m, i) + m->key_stride, value, m->value_size);
		m->used[i] = 1;
		m->next[i] = m->buckets[b];
		m->buckets[b] = i;
		m->count++;
	}
	bpf_env_unlock(&m->lock, irq);
	return ret;
}

static long hash_delete(struct bpf_map *m, const void *key)
{
	uint32_t b = hash_key(key, m->key_size) & (m->nbuckets - 1);
	uint32_t *link, i;
	unsigned long irq = bpf_env_lock(&m->lock);
	long ret = -BPF_ENOENT;

	for (link = &m->buckets[b]; (i = *link) != HASH_NONE; link = &m->next[i]) {
		if (!memcmp(hash_elem(m, i), key, m->key_size)) {
			*link = m->next[i];
			m->used[i] = 0;
			/* the element's memory stays valid (pool): a program still holding
			 * a pointer reads stale but in-bounds data */
			m->next[i] = m->free_head;
			m->free_head = i;
			m->count--;
			ret = 0;
			break;
		}
	}
	bpf_env_unlock(&m->lock, irq);
	return ret;
}

/* ---- program side ---- */
void *bpf_map_lookup(struct bpf_map *m, const void *key)
{
	uint32_t idx, i;
	unsigned long irq;
	void *ret = NULL;

	switch (m->type) {
	case BPF_MAP_TYPE_ARRAY:
		memcpy(&idx, key, 4);
		return idx < m->max_entries ? m->data + (size_t)idx * m->stride : NULL;
	case BPF_MAP_TYPE_PERCPU_ARRAY: {
		uint32_t cpu = bpf_env_cpu_id();

		memcpy(&idx, key, 4);
		if (idx >= m->max_entries || cpu >= m->ncpus)
			return NULL;
		return m->data + ((size_t)cpu * m->max_entries + idx) * m->stride;
	}
	case BPF_MAP_TYPE_HASH:
		irq = bpf_env_lock(&m->lock);
		i = hash_find(m, key, NULL);
		if (i != HASH_NONE)
			ret = hash_elem(m, i) + m->key_stride;
		bpf_env_unlock(&m->lock, irq);
		return ret;
	default:
		return NULL;
	}
}

long bpf_map_update(struct bpf_map *m, const void *key, const void *value, uint64_t flags)
{
	void *slot;

	if (flags > BPF_EXIST)
		return -BPF_EINVAL;
	switch (m->type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		if (flags == BPF_NOEXIST)
			return -BPF_EEXIST; /* every array element exists */
		slot = bpf_map_lookup(m, key);
		if (!slot)
			return -BPF_E2BIG;
		memcpy(slot, value, m->value_size);
		return 0;
	case BPF_MAP_TYPE_HASH:
		return hash_update(m, key, value, flags);
	default:
		return -BPF_EINVAL;
	}
}

long bpf_map_delete(struct bpf_map *m, const void *key)
{
	if (m->type == BPF_MAP_TYPE_HASH)
		return hash_delete(m, key);
	return -BPF_EINVAL;
}

/* Ring buffer: records are an 8-byte header (u32 length, u32 reserved) then the
 * data padded to 8 bytes; head and tail are free-running byte counters and the
 * data area is a power of two, so positions wrap with a mask. */
static void rb_copy_in(struct bpf_map *m, uint64_t pos, const void *src, uint64_t n)
{
	uint64_t mask = m->max_entries - 1, off = pos & mask, first = m->max_entries - off;
	const uint8_t *s = src;

	if (first > n)
		first = n;
	memcpy(m->data + off, s, (size_t)first);
	memcpy(m->data, s + first, (size_t)(n - first));
}

static void rb_copy_out(struct bpf_map *m, uint64_t pos, void *dst, uint64_t n)
{
	uint64_t mask = m->max_entries - 1, off = pos & mask, first = m->max_entries - off;
	uint8_t *d = dst;

	if (first > n)
		first = n;
	memcpy(d, m->data + off, (size_t)first);
	memcpy(d + first, m->data, (size_t)(n - first));
}

long bpf_ringbuf_output(struct bpf_map *m, const void *data, uint64_t size, uint64_t flags)
{
	uint64_t need = 8 + ((size + 7) & ~7ull);
	uint32_t hdr[2] = { (uint32_t)size, 0 };
	unsigned long irq;
	long ret = 0;

	if (m->type != BPF_MAP_TYPE_RINGBUF || flags > 3)
		return -BPF_EINVAL;
	if (size > m->max_entries)
		return -BPF_E2BIG;
	irq = bpf_env_lock(&m->lock);
	if (m->rb_head - m->rb_tail + need > m->max_entries) {
		ret = -BPF_ENOSPC; /* consumer too slow: drop the record */
	} else {
		rb_copy_in(m, m->rb_head, hdr, 8);
		rb_copy_in(m, m->rb_head + 8, data, size);
		m->rb_head += need;
	}
	bpf_env_unlock(&m->lock, irq);
	return ret;
}

long bpf_ringbuf_consume(struct bpf_map *m, void *buf, uint64_t cap)
{
	uint32_t hdr[2];
	unsigned long irq;
	long ret;

	if (m->type != BPF_MAP_TYPE_RINGBUF)
		return -BPF_EINVAL;
	irq = bpf_env_lock(&m->lock);
	if (m->rb_tail == m->rb_head) {
		ret = -BPF_ENOENT;
	} else {
		rb_copy_out(m, m->rb_tail, hdr, 8);
		if (hdr[0] > cap) {
			ret = -BPF_ENOSPC;
		} else {
			rb_copy_out(m, m->rb_tail + 8, buf, hdr[0]);
			m->rb_tail += 8 + ((hdr[0] + 7ull) & ~7ull);
			ret = hdr[0];
		}
	}
	bpf_env_unlock(&m->lock, irq);
	return ret;
}

/* ---- syscall side ---- */
uint32_t bpf_map_syscall_value_size(const struct bpf_map *m)
{
	if (m->type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return m->stride * m->ncpus;
	return m->value_size;
}

long bpf_map_copy_value(struct bpf_map *m, const void *key, void *value)
{
	uint32_t idx, cpu;
	void *p;

	if (m->type == BPF_MAP_TYPE_RINGBUF)
		return -BPF_EINVAL;
	if (m->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		memcpy(&idx, key, 4);
		if (idx >= m->max_entries)
			return -BPF_ENOENT;
		for (cpu = 0; cpu < m->ncpus; cpu++)
			memcpy((uint8_t *)value + (size_t)cpu * m->stride,
			       m->data + ((size_t)cpu * m->max_entries + idx) * m->stride, m->stride);
		return 0;
	}
	if (m->type == BPF_MAP_TYPE_HASH) {
		unsigned long irq = bpf_env_lock(&m->lock);
		uint32_t i = hash_find(m, key, NULL);

		if (i != HASH_NONE)
			memcpy(value, hash_elem(m, i) + m->key_stride, m->value_size);
		bpf_env_unlock(&m->lock, irq);
		return i == HASH_NONE ? -BPF_ENOENT : 0;
	}
	p = bpf_map_lookup(m, key);
	if (!p)
		return -BPF_ENOENT;
	memcpy(value, p, m->value_size);
	return 0;
}

long bpf_map_update_from_user(struct bpf_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t idx, cpu;

	if (m->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		if (flags > BPF_EXIST)
			return -BPF_EINVAL;
		if (flags == BPF_NOEXIST)
			return -BPF_EEXIST;
		memcpy(&idx, key, 4);
		if (idx >= m->max_entries)
			return -BPF_E2BIG;
		for (cpu = 0; cpu < m->ncpus; cpu++)
			memcpy(m->data + ((size_t)cpu * m->max_entries + idx) * m->stride,
			       (const uint8_t *)value + (size_t)cpu * m->stride, m->stride);
		return 0;
	}
	return bpf_map_update(m, key, value, flags);
}

long bpf_map_get_next_key(struct bpf_map *m, const void *key, void *next_key)
{
	uint32_t idx, b, i;
	unsigned long irq;
	long ret = -BPF_ENOENT;

	switch (m->type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		if (!key) {
			idx = 0;
		} else {
			memcpy(&idx, key, 4);
			idx = idx >= m->max_entries ? 0 : idx + 1;
		}
		if (idx >= m->max_entries)
			return -BPF_ENOENT;
		memcpy(next_key, &idx, 4);
		return 0;
	case BPF_MAP_TYPE_HASH:
		irq = bpf_env_lock(&m->lock);
		/* position after `key` in bucket order; a missing key restarts */
		i = key ? hash_find(m, key, &b) : HASH_NONE;
		if (i != HASH_NONE) {
			i = m->next[i];
			if (i == HASH_NONE)
				b++;
		} else {
			b = 0;
		}
		while (i == HASH_NONE && b < m->nbuckets)
			i = m->buckets[b++];
		if (i != HASH_NONE) {
			memcpy(next_key, hash_elem(m, i), m->key_size);
			ret = 0;
		}
		bpf_env_unlock(&m->lock, irq);
		return ret;
	default:
		return -BPF_EINVAL;
	}
}

bool bpf_map_value_region(const struct bpf_map *m, uintptr_t addr, uint64_t size)
{
	uintptr_t lo = (uintptr_t)m->data;
	uint64_t off;

	if (m->type == BPF_MAP_TYPE_RINGBUF || addr < lo || size > m->data_size ||
	    addr - lo > m->data_size - size)
		return false;
	if (m->type != BPF_MAP_TYPE_HASH)
		return true;
	/* hash: only within one element's value, never its key */
	off = (addr - lo) % (m->key_stride + m->stride);
	return off >= m->key_stride && off - m->key_stride + size <= m->stride;
}
