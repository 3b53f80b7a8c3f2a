/*
 * proc.c — processes and threads: creation, spawn/exec, exit, waiting,
 * killing, and the /proc views of them.
 */
#include <kernel.h>
#include <proc.h>
#include <sched.h>
#include <percpu.h>
#include <elf.h>
#include <uaccess.h>
#include <vfs.h>
#include <file.h>
#include <sbuf.h>
#include <panic.h>
#include <axiom/syscall.h>
#include <axiom/errno.h>
#include <axiom/bpf.h>
#include "../bpf/bpf.h"

struct process *process_list;         /* every process not yet reaped, ascending pid */
struct thread *thread_list;           /* every thread not yet freed */
struct spinlock proc_lock = SPINLOCK_INIT("proc");
static int next_id = 1;               /* pids and user tids share one counter */
static int next_ktid = KTHREAD_TID_BASE;  /* kernel threads: their own range */
static struct process *init_process;
static struct waitq reap_wait;        /* parents waiting for a reaped child's last thread_free() */

void sched_wake_process(struct process *p);

struct thread *current_thread(void)
{
	unsigned long f = arch_irq_save();   /* no migration between the two loads */
	struct cpu *c = this_cpu();
	struct thread *t = c ? c->current : NULL;
	arch_irq_restore(f);
	return t;
}

struct process *current_process(void)
{
	struct thread *t = current_thread();
	return t ? t->proc : NULL;
}

static int alloc_id(void)
{
	return __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
}

/* ---- threads ---- */

static struct thread *thread_alloc(const char *name, struct process *p, int tid)
{
	struct thread *t = kzalloc(sizeof(*t));

	if (!t)
		return NULL;
	if (kstack_alloc(&t->kstack) != 0) {
		kfree(t);
		return NULL;
	}
	t->tid = tid ? tid : p ? alloc_id() : __atomic_fetch_add(&next_ktid, 1, __ATOMIC_RELAXED);
	t->cpu = -1;
	t->proc = p;
	strlcpy(t->name, name, sizeof(t->name));
	uintptr_t top = t->kstack.top;
	if (p) {
		top = ALIGN_DOWN(top - sizeof(struct trapframe), 16);
		t->tf = (struct trapframe *)top;
	}
	arch_context_init(&t->ctx, top, sched_thread_start, t);
	spin_lock(&proc_lock);
	t->all_next = thread_list;
	thread_list = t;
	if (p) {
		t->proc_next = p->threads;
		p->threads = t;
		p->nthreads++;
		t->owner = p;
		p->threads_unfreed++;
	}
	spin_unlock(&proc_lock);
	return t;
}

/* Called by the scheduler once t is DEAD and off its stack. */
void thread_free(struct thread *t)
{
	spin_lock(&proc_lock);
	struct thread **pp = &thread_list;
	while (*pp && *pp != t)
		pp = &(*pp)->all_next;
	if (*pp)
		*pp = t->all_next;
	spin_unlock(&proc_lock);
	kstack_free(&t->kstack);
	/*
	 * The reaping parent (proc_wait) frees the process once its last
	 * thread is freed; both sides decide under proc_lock, so the process
	 * is freed exactly once and no wake-up is lost.
	 */
	struct process *free_it = NULL;
	if (t->owner) {
		spin_lock(&proc_lock);
		if (--t->owner->threads_unfreed == 0) {
			if (t->owner->free_on_last_thread)
				free_it = t->owner;
			else
				waitq_wake_all(&reap_wait);
		}
		spin_unlock(&proc_lock);
	}
	kfree(free_it);
	kfree(t);
}

struct thread *kthread_create(const char *name, void (*fn)(void *), void *arg)
{
	struct thread *t = thread_alloc(name, NULL, 0);

	if (!t)
		return NULL;
	t->kentry = fn;
	t->karg = arg;
	sched_wake(t);
	return t;
}

/* ---- building a program's initial user stack ---- */

/* Kernel-side copy of argv/envp. */
struct args {
	int argc, envc;
	char *argv[AX_ARGV_MAX + 1];
	char *envp[AX_ARGV_MAX + 1];
	size_t used;
	char strings[AX_ARG_MAX];
};

static int args_add(struct args *a, char **vec, int *count, const char *s, size_t len)
{
	if (*count >= AX_ARGV_MAX)
		return -E2BIG;
	if (a->used + len + 1 > sizeof(a->strings))
		return -E2BIG;
	char *dst = a->strings + a->used;
	memcpy(dst, s, len);
	dst[len] = 0;
	a->used += len + 1;
	vec[(*count)++] = dst;
	vec[*count] = NULL;
	return 0;
}

static int args_from_kernel(struct args *a, char *const argv[], char *const envp[])
{
	int err;
	a->argc = a->envc = 0;
	a->used = 0;
	a->argv[0] = a->envp[0] = NULL;
	for (int i = 0; argv && argv[i]; i++)
		if ((err = args_add(a, a->argv, &a->argc, argv[i], strlen(argv[i]))))
			return err;
	for (int i = 0; envp && envp[i]; i++)
		if ((err = args_add(a, a->envp, &a->envc, envp[i], strlen(envp[i]))))
			return err;
	return 0;
}

/* Copy a user NULL-terminated array of user strings (NULL array = empty). */
static int args_copy_vec(struct args *a, char **vec, int *count, uintptr_t uvec)
{
	char tmp[AX_PATH_MAX];
	if (!uvec)
		return 0;
	for (int i = 0;; i++) {
		uintptr_t up;
		if (i > AX_ARGV_MAX)
			return -E2BIG;
		if (copy_from_user(&up, uvec + (uintptr_t)i * sizeof(uintptr_t), sizeof(up)))
			return -EFAULT;
		if (!up)
			return 0;
		/* Strings may be long: copy in AX_PATH_MAX pieces. */
		size_t room = sizeof(a->strings) - a->used;
		long n = strncpy_from_user(a->strings + a->used, up, room);
		if (n == -ENAMETOOLONG)
			return -E2BIG;
		if (n < 0)
			return (int)n;
		if (*count >= AX_ARGV_MAX)
			return -E2BIG;
		vec[(*count)++] = a->strings + a->used;
		vec[*count] = NULL;
		a->used += (size_t)n + 1;
		(void)tmp;
	}
}

static int args_from_user(struct args *a, uintptr_t uargv, uintptr_t uenvp)
{
	int err;
	a->argc = a->envc = 0;
	a->used = 0;
	a->argv[0] = a->envp[0] = NULL;
	/* argv is required (NULL is a bad pointer); a NULL envp means "none". */
	if (!uargv)
		return -EFAULT;
	if ((err = args_copy_vec(a, a->argv, &a->argc, uargv)))
		return err;
	return args_copy_vec(a, a->envp, &a->envc, uenvp);
}

struct user_entry {
	uintptr_t pc, sp, argv, envp;
	int argc;
};

/*
 * Map the stack and lay out, from the top down: the strings, then (16-byte
 * aligned) argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL — the
 * System V layout, with sp pointing at argc.
 */
static int setup_stack(struct vm *vm, const struct args *a, const struct elf_image *img,
		       struct user_entry *ue)
{
	const size_t stack_size = USER_STACK_PAGES * PAGE_SIZE;
	uintptr_t stack_lo = USER_STACK_TOP - stack_size;
	int err = vm_map_anon(vm, stack_lo, stack_size, MMU_READ | MMU_WRITE, VMR_STACK);
	if (err)
		return err;

	size_t nwords = 1 + (size_t)a->argc + 1 + (size_t)a->envc + 1 + 2 * 6;
	size_t strings = 0;
	for (int i = 0; i < a->argc; i++)
		strings += strlen(a->argv[i]) + 1;
	for (int i = 0; i < a->envc; i++)
		strings += strlen(a->envp[i]) + 1;
	size_t total = ALIGN_UP(strings, 16) + ALIGN_UP(nwords * 8, 16);
	if (total > stack_size / 2)
		return -E2BIG;

	uint8_t *buf = kzalloc(total);
	if (!buf)
		return -ENOMEM;
	uintptr_t base = USER_STACK_TOP - total;       /* user address of buf[0] */
	uint64_t *w = (uint64_t *)buf;                 /* words start at base (16-aligned) */
	size_t soff = ALIGN_UP(nwords * 8, 16);        /* strings after the words */
	size_t wi = 0;

	w[wi++] = (uint64_t)a->argc;
	uintptr_t uargv = base + wi * 8;
	for (int i = 0; i < a->argc; i++) {
		size_t n = strlen(a->argv[i]) + 1;
		memcpy(buf + soff, a->argv[i], n);
		w[wi++] = base + soff;
		soff += n;
	}
	w[wi++] = 0;
	uintptr_t uenvp = base + wi * 8;
	for (int i = 0; i < a->envc; i++) {
		size_t n = strlen(a->envp[i]) + 1;
		memcpy(buf + soff, a->envp[i], n);
		w[wi++] = base + soff;
		soff += n;
	}
	w[wi++] = 0;
	const uint64_t aux[][2] = {
		{ AT_PHDR, img->phdr_va }, { AT_PHENT, sizeof(Elf64_Phdr) }, { AT_PHNUM, img->phnum },
		{ AT_PAGESZ, PAGE_SIZE },  { AT_ENTRY, img->entry },        { AT_NULL, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(aux); i++) {
		w[wi++] = aux[i][0];
		w[wi++] = aux[i][1];
	}
	err = vm_write(vm, base, buf, total);
	kfree(buf);
	if (err)
		return err;
	ue->pc = img->entry;
	ue->sp = base;
	ue->argv = uargv;
	ue->envp = uenvp;
	ue->argc = a->argc;
	return 0;
}

/* Build a complete new address space running `path`. */
static int load_program(const char *path, const struct args *a, struct vm **out, struct user_entry *ue)
{
	struct elf_image img;
	struct vm *vm = vm_create();

	if (!vm)
		return -ENOMEM;
	int err = elf_load(vm, path, &img);
	if (!err)
		err = setup_stack(vm, a, &img, ue);
	if (err) {
		vm_destroy(vm);
		return err;
	}
	*out = vm;
	return 0;
}

static void set_name(struct process *p, const char *path)
{
	const char *base = strrchr(path, '/');
	strlcpy(p->name, base ? base + 1 : path, sizeof(p->name));
}

/*
 * eBPF proc_exec and proc_exit attach points. Both run in the context of a
 * thread in process context, with interrupts on and no spinlock held, so
 * programs may use any helper:
 *   - proc_exec fires when a program image has been loaded and is about to
 *     run: in execve (current = the process itself) and in spawn, axiom's
 *     fork+exec (current = the parent; ctx.pid/tgid name the new process,
 *     whose first thread has not started yet);
 *   - proc_exit fires once per process, on its last thread, before its
 *     resources are released; exit_code is the wait status (W_EXITCODE).
 */
static void bpf_proc_exec(const struct process *p, const struct thread *t, const char *path)
{
	struct bpf_proc_exec_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.pid = (uint32_t)t->tid;
	ctx.tgid = (uint32_t)p->pid;
	strlcpy(ctx.filename, path, sizeof(ctx.filename));
	bpf_run_hook(BPF_AXIOM_PROC_EXEC, &ctx, sizeof(ctx));
}

static void bpf_proc_exit(const struct process *p, const struct thread *t)
{
	struct bpf_proc_exit_ctx ctx = {
		.pid = (uint32_t)t->tid,
		.tgid = (uint32_t)p->pid,
		.exit_code = p->kill_status,
	};
	bpf_run_hook(BPF_AXIOM_PROC_EXIT, &ctx, sizeof(ctx));
}

/* ---- spawn ---- */

static int spawn_with_args(struct process *parent, const char *path, const struct args *a)
{
	struct user_entry ue;
	struct vm *vm;
	int err = load_program(path, a, &vm, &ue);
	if (err)
		return err;

	struct process *p = kzalloc(sizeof(*p));
	if (!p) {
		vm_destroy(vm);
		return -ENOMEM;
	}
	p->pid = alloc_id();
	p->state = PROC_ALIVE;
	p->vm = vm;
	p->start_ns = arch_time_ns();
	set_name(p, path);
	waitq_init(&p->child_wait);
	p->fdt = parent && parent->fdt ? fdtable_clone(parent->fdt) : fdtable_create();
	if (!p->fdt) {
		vm_destroy(vm);
		kfree(p);
		return -ENOMEM;
	}
	p->cwd = vfs_cwd_get(parent);
	if (!parent) {
		/* The first process gets the console as fds 0, 1 and 2. */
		struct file *f;
		if (vfs_open("/dev/console", O_RDWR, 0, &f) == 0) {
			fd_install(p->fdt, file_ref(f), 0);
			fd_install(p->fdt, file_ref(f), 0);
			fd_install(p->fdt, f, 0);
		}
	}

	struct thread *t = thread_alloc(p->name, p, p->pid);
	if (!t) {
		fdtable_release(p->fdt);
		vnode_put(p->cwd);
		vm_destroy(vm);
		kfree(p);
		return -ENOMEM;
	}
	arch_tf_init_user(t->tf, ue.pc, ue.sp, (uintptr_t)ue.argc, ue.argv, ue.envp);

	spin_lock(&proc_lock);
	p->parent = parent;
	if (parent) {
		p->sibling = parent->children;
		parent->children = p;
	} else if (!init_process) {
		init_process = p;
	}
	struct process **pp = &process_list;
	while (*pp && (*pp)->pid < p->pid)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	spin_unlock(&proc_lock);

	int pid = p->pid;
	if (bpf_hook_active(BPF_AXIOM_PROC_EXEC))
		bpf_proc_exec(p, t, path);
	sched_wake(t);
	return pid;
}

int proc_spawn_kernel(struct process *parent, const char *path, char *const argv[], char *const envp[])
{
	struct args *a = kmalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	int err = args_from_kernel(a, argv, envp);
	if (!err)
		err = spawn_with_args(parent, path, a);
	kfree(a);
	return err;
}

long sys_spawn(long path, long argv, long envp)
{
	char kpath[AX_PATH_MAX];
	long n = strncpy_from_user(kpath, (uintptr_t)path, sizeof(kpath));
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	struct args *a = kmalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	int err = args_from_user(a, (uintptr_t)argv, (uintptr_t)envp);
	if (!err)
		err = spawn_with_args(current_process(), kpath, a);
	kfree(a);
	return err;
}

/* execve: on success returns argc, which the syscall path stores in a0 /
 * x0 / rax of the fresh user frame (the new program's first argument). */
long sys_execve(long path, long argv, long envp)
{
	struct process *p = current_process();
	struct thread *t = current_thread();
	char kpath[AX_PATH_MAX];

	if (!p)
		return -EINVAL;
	long n = strncpy_from_user(kpath, (uintptr_t)path, sizeof(kpath));
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	spin_lock(&proc_lock);
	int nthreads = p->nthreads;
	spin_unlock(&proc_lock);
	if (nthreads > 1)
		return -EBUSY;               /* documented: only single-threaded processes */
	struct args *a = kmalloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	struct user_entry ue;
	struct vm *vm = NULL;
	int err = args_from_user(a, (uintptr_t)argv, (uintptr_t)envp);
	if (!err)
		err = load_program(kpath, a, &vm, &ue);
	kfree(a);
	if (err)
		return err;

	spin_lock(&proc_lock);
	struct vm *old = p->vm;
	p->vm = vm;
	set_name(p, kpath);
	strlcpy(t->name, p->name, sizeof(t->name));
	spin_unlock(&proc_lock);
	arch_aspace_switch(&vm->as);
	vm_destroy(old);
	arch_tf_init_user(t->tf, ue.pc, ue.sp, (uintptr_t)ue.argc, ue.argv, ue.envp);
	if (bpf_hook_active(BPF_AXIOM_PROC_EXEC))
		bpf_proc_exec(p, t, kpath);
	return ue.argc;
}

/* ---- threads of user processes ---- */

long sys_thread_create(long entry, long stack_top, long arg)
{
	struct process *p = current_process();

	if (!p)
		return -EINVAL;
	uintptr_t pc = (uintptr_t)entry, sp = (uintptr_t)stack_top;
	if (pc < USER_BASE || pc >= USER_TOP || sp <= USER_BASE || sp > USER_TOP || (sp & 15))
		return -EINVAL;
	spin_lock(&proc_lock);
	int nthreads = p->nthreads;
	bool killed = p->killed;
	spin_unlock(&proc_lock);
	if (killed)
		return -EINTR;
	if (nthreads >= 64)
		return -EAGAIN;
	struct thread *t = thread_alloc(p->name, p, 0);
	if (!t)
		return -ENOMEM;
	arch_tf_init_user(t->tf, pc, sp, (uintptr_t)arg, 0, 0);
	int tid = t->tid;
	sched_wake(t);
	return tid;
}

/* ---- exit ---- */

/* The last thread of p is leaving: release everything but the struct. */
static void proc_teardown(struct process *p, struct thread *t)
{
	if (bpf_hook_active(BPF_AXIOM_PROC_EXIT))
		bpf_proc_exit(p, t);
	fdtable_release(p->fdt);
	p->fdt = NULL;
	vnode_put(p->cwd);
	p->cwd = NULL;
	arch_aspace_switch(NULL);
	spin_lock(&proc_lock);
	struct vm *vm = p->vm;
	p->vm = NULL;
	spin_unlock(&proc_lock);
	vm_destroy(vm);

	spin_lock(&proc_lock);
	if (p == init_process)
		panic("init (pid 1) exited with status 0x%x", p->kill_status);
	/* Orphans go to init. */
	bool zombie_orphans = false;
	while (p->children) {
		struct process *c = p->children;
		p->children = c->sibling;
		c->parent = init_process;
		c->sibling = init_process->children;
		init_process->children = c;
		zombie_orphans |= c->state == PROC_ZOMBIE;
	}
	if (zombie_orphans)
		waitq_wake_all(&init_process->child_wait);
	p->exit_status = p->kill_status;
	t->proc = NULL;               /* from here on p may be freed by its parent */
	p->state = PROC_ZOMBIE;
	if (p->parent)
		waitq_wake_all(&p->parent->child_wait);
	spin_unlock(&proc_lock);
}

__noreturn void thread_exit(void)
{
	struct thread *t = current_thread();
	struct process *p = t->proc;

	if (p) {
		spin_lock(&proc_lock);
		struct thread **pp = &p->threads;
		while (*pp && *pp != t)
			pp = &(*pp)->proc_next;
		if (*pp)
			*pp = t->proc_next;
		bool last = --p->nthreads == 0;
		if (!p->killed) {
			/* A thread returning normally: the process lives on unless last. */
			if (last)
				p->kill_status = W_EXITCODE(0, 0);
		}
		spin_unlock(&proc_lock);
		if (last)
			proc_teardown(p, t);
		else
			t->proc = NULL;
	}
	spin_lock(&sched_lock);
	t->state = THREAD_DEAD;
	sched_switch();
	panic("thread %d ran after exit", t->tid);
}

/* Mark p for death with `status` (first one wins) and wake its sleepers. */
static void proc_mark_killed(struct process *p, int status)
{
	spin_lock(&proc_lock);
	if (!p->killed) {
		p->killed = true;
		p->kill_status = status;
	}
	spin_unlock(&proc_lock);
	sched_wake_process(p);
}

__noreturn void proc_exit(int status)
{
	struct process *p = current_process();
	if (p)
		proc_mark_killed(p, status);
	thread_exit();
}

void proc_kill_current(int sig, const char *why)
{
	struct process *p = current_process();
	struct thread *t = current_thread();

	kprintf("pid %d (%s) tid %d killed by signal %d: %s", p ? p->pid : 0, p ? p->name : "?",
		t ? t->tid : 0, sig, why);
	if (p)
		proc_mark_killed(p, W_EXITCODE(0, sig));
}

int proc_kill(int pid, int sig)
{
	spin_lock(&proc_lock);
	struct process *p = process_list;
	while (p && p->pid != pid)
		p = p->next;
	if (!p || p->state != PROC_ALIVE) {
		spin_unlock(&proc_lock);
		return -ESRCH;
	}
	spin_unlock(&proc_lock);
	if (sig == 0)
		return 0;
	/* Processes are never freed while ALIVE, and only by their parent
	 * after becoming ZOMBIE; marking a zombie is harmless. */
	proc_mark_killed(p, W_EXITCODE(0, sig));
	return 0;
}

/* ---- waiting ---- */

long proc_wait(long pid, uintptr_t ustatus, long options)
{
	struct process *me = current_process();

	if (!me)
		return -ECHILD;
	if (options & ~(long)WNOHANG)
		return -EINVAL;
	if (pid == 0 || pid < -1)
		return -EINVAL;              /* no process groups */
	spin_lock(&proc_lock);
	for (;;) {
		bool have = false;
		struct process **pp = &me->children;
		while (*pp) {
			struct process *c = *pp;
			if (pid == -1 || c->pid == pid) {
				have = true;
				if (c->state == PROC_ZOMBIE) {
					int status = c->exit_status;
					int cpid = c->pid;
					if (ustatus && copy_to_user(ustatus, &status, sizeof(status))) {
						spin_unlock(&proc_lock);
						return -EFAULT;
					}
					*pp = c->sibling;
					struct process **lp = &process_list;
					while (*lp && *lp != c)
						lp = &(*lp)->next;
					if (*lp)
						*lp = c->next;
					/*
					 * The child's last thread made it a ZOMBIE and woke us
					 * before switching away for the last time; its stack is
					 * freed by whichever thread next passes sched_reap().
					 * Wait for that, so that when waitpid returns every frame
					 * of the child is free again and the process can be freed
					 * without a thread still pointing at it.
					 *
					 * Sleep, do not spin with sched_yield(): the reaper may be
					 * this CPU's idle thread, interrupted in the middle of
					 * thread_free() when we were scheduled. An idle thread
					 * runs again only when its CPU has nothing else to do, so
					 * a yield loop here (nothing else runnable: yield returns
					 * at once) would wait for it forever.
					 */
					while (c->threads_unfreed && !me->killed)
						waitq_sleep(&reap_wait, &proc_lock);
					/*
					 * Killed while waiting (we cannot sleep any more): the
					 * thread_free() that drops the count to zero frees c.
					 */
					bool free_now = c->threads_unfreed == 0;
					if (!free_now)
						c->free_on_last_thread = true;
					spin_unlock(&proc_lock);
					if (free_now)
						kfree(c);
					return cpid;
				}
			}
			pp = &c->sibling;
		}
		if (!have) {
			spin_unlock(&proc_lock);
			return -ECHILD;
		}
		if (options & WNOHANG) {
			spin_unlock(&proc_lock);
			return 0;
		}
		if (me->killed) {
			spin_unlock(&proc_lock);
			return -EINTR;
		}
		waitq_sleep(&me->child_wait, &proc_lock);
	}
}

int proc_list_pids(int *pids, int max)
{
	int n = 0;
	spin_lock(&proc_lock);
	for (struct process *p = process_list; p; p = p->next) {
		if (n < max)
			pids[n] = p->pid;
		n++;
	}
	spin_unlock(&proc_lock);
	return n;
}

/* ---- views ---- */

static const char *thread_state_name(int s)
{
	return s == THREAD_RUNNABLE ? "runnable" : s == THREAD_RUNNING ? "running" :
	       s == THREAD_SLEEPING ? "sleeping" : s == THREAD_DEAD ? "dead" : "new";
}

void proc_view_processes(struct sbuf *sb)
{
	sbuf_printf(sb, "pid ppid state threads pages name\n");
	spin_lock(&proc_lock);
	for (struct process *p = process_list; p; p = p->next) {
		sbuf_printf(sb, "%d %d %s %d %llu %s\n", p->pid, p->parent ? p->parent->pid : 0,
			    p->state == PROC_ZOMBIE ? "zombie" : (p->killed ? "exiting" : "alive"),
			    p->nthreads, (unsigned long long)(p->vm ? p->vm->pages : 0), p->name);
	}
	spin_unlock(&proc_lock);
}

void proc_view_threads(struct sbuf *sb)
{
	sbuf_printf(sb, "tid pid state cpu runtime_us switches name\n");
	spin_lock(&proc_lock);
	for (struct thread *t = thread_list; t; t = t->all_next) {
		sbuf_printf(sb, "%d %d %s %d %llu %llu %s\n", t->tid, t->proc ? t->proc->pid : 0,
			    thread_state_name(t->state), t->cpu,
			    (unsigned long long)(t->runtime_ns / 1000), (unsigned long long)t->switches, t->name);
	}
	spin_unlock(&proc_lock);
}

static void prot_str(char *s, unsigned prot, bool mapped)
{
	s[0] = mapped && (prot & MMU_READ) ? 'r' : '-';
	s[1] = mapped && (prot & MMU_WRITE) ? 'w' : '-';
	s[2] = mapped && (prot & MMU_EXEC) ? 'x' : '-';
	s[3] = mapped && (prot & MMU_USER) ? 'u' : '-';
	s[4] = 0;
}

int proc_view_maps(int pid, struct sbuf *sb)
{
	static const char *const kinds[] = { "?", "elf", "stack", "anon" };
	spin_lock(&proc_lock);
	struct process *p = process_list;
	while (p && p->pid != pid)
		p = p->next;
	if (!p) {
		spin_unlock(&proc_lock);
		return -ESRCH;
	}
	struct vm *vm = p->vm;
	if (vm) {
		spin_lock(&vm->lock);
		/* One line per run of pages that are physically contiguous and
		 * have the same translation bits: start-end phys flags kind. */
		for (struct vm_region *r = vm->regions; r; r = r->next) {
			const char *kind = r->kind >= 1 && r->kind <= 3 ? kinds[r->kind] : "?";
			uintptr_t va = r->start;
			while (va < r->end) {
				uint64_t pa0 = 0;
				unsigned prot0 = 0;
				bool m0 = arch_mmu_query(&vm->as, va, &pa0, &prot0);
				uintptr_t run_end = va + PAGE_SIZE;
				while (run_end < r->end) {
					uint64_t pa;
					unsigned prot;
					bool m = arch_mmu_query(&vm->as, run_end, &pa, &prot);
					if (m != m0 || (m && (prot != prot0 || pa != pa0 + (run_end - va))))
						break;
					run_end += PAGE_SIZE;
				}
				char f[5];
				prot_str(f, prot0, m0);
				if (m0)
					sbuf_printf(sb, "%016lx-%016lx %016llx %s %s\n", (unsigned long)va,
						    (unsigned long)run_end, (unsigned long long)pa0, f, kind);
				else
					sbuf_printf(sb, "%016lx-%016lx %16s %s %s\n", (unsigned long)va,
						    (unsigned long)run_end, "-", f, kind);
				va = run_end;
			}
		}
		spin_unlock(&vm->lock);
	}
	spin_unlock(&proc_lock);
	return 0;
}

void cpu_view(struct sbuf *sb)
{
	sbuf_printf(sb, "cpu hwid online ticks switches current idle_ms\n");
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		struct cpu *c = &cpus[i];
		if (!c->self)
			continue;
		struct thread *t = c->current;
		sbuf_printf(sb, "%u %u %d %llu %llu %d %llu\n", c->id, c->hwid, c->online ? 1 : 0,
			    (unsigned long long)c->ticks, (unsigned long long)c->ctx_switches,
			    t ? t->tid : -1, (unsigned long long)(c->idle_ns / 1000000));
	}
}

void proc_init(void)
{
}
