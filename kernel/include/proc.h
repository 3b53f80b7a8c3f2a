/*
 * proc.h — processes and threads.
 *
 * A process owns an address space (struct vm), an fd table, a working
 * directory and one or more threads. A thread owns a kernel stack (with an
 * unmapped guard page below it, mm.h), its saved kernel context and its
 * scheduling state. Kernel threads and the per-CPU idle threads belong to
 * no process (thread->proc == NULL, pid 0 in logs and views).
 *
 * Lifetime: a process becomes a ZOMBIE when its last thread exits; its
 * resources (vm, files, cwd) are released then, and the struct is freed when
 * the parent reaps it with waitpid. Orphans are re-parented to pid 1.
 *
 * Locking: proc_lock protects process_list, every parent/children link,
 * process state/exit status and each process's thread list. sched_lock
 * (sched.h) protects thread states and the run queue. Order: proc_lock
 * before sched_lock.
 */
#ifndef AXIOM_PROC_H
#define AXIOM_PROC_H

#include <kernel.h>
#include <spinlock.h>
#include <waitq.h>
#include <mm.h>
#include <arch/arch.h>

struct fdtable;
struct vnode;
struct sbuf;

/* Kernel threads get tids from here up, so pid 1 is always the first process. */
#define KTHREAD_TID_BASE 100000

/* Kernel threads get tids from here up, so pid 1 is always the first process. */
#define KTHREAD_TID_BASE 100000

enum proc_state { PROC_ALIVE = 1, PROC_ZOMBIE = 2 };

enum thread_state {
	THREAD_RUNNABLE = 1,          /* on the run queue */
	THREAD_RUNNING = 2,           /* on a CPU (thread->cpu) */
	THREAD_SLEEPING = 3,          /* on a wait queue or in nanosleep */
	THREAD_DEAD = 4,              /* exited; stack freed by the next thread on its CPU */
};

struct process {
	int pid;
	int state;                    /* enum proc_state */
	int exit_status;              /* waitpid status word (W_EXITCODE) once ZOMBIE */
	bool killed;                  /* kill() or a fatal fault: threads exit at the next chance */
	int kill_status;              /* status to exit with when killed */
	char name[32];                /* program name (basename of the path) */
	struct process *parent;
	struct process *children;     /* first child */
	struct process *sibling;      /* next child of the same parent */
	struct process *next;         /* process_list, ascending pid */
	struct thread *threads;       /* linked through thread->proc_next */
	int nthreads;                 /* threads not yet DEAD */
	int threads_unfreed;          /* threads whose stack is not yet freed (proc_lock) */
	bool free_on_last_thread;     /* reaped by a killed parent: the last thread_free() frees it */
	struct vm *vm;
	struct fdtable *fdt;
	struct vnode *cwd;            /* protected by the VFS's cwd lock */
	struct waitq child_wait;      /* the parent sleeps here in waitpid */
	uint64_t start_ns;
};

struct thread {
	int tid;                      /* global id; the first thread of a process has tid == pid */
	int state;                    /* enum thread_state */
	char name[32];
	struct process *proc;         /* NULL for kernel threads */
	struct process *owner;        /* the process it was created for; unlike proc,
	                               * kept until the stack is freed (threads_unfreed) */
	struct thread *proc_next;     /* process's thread list */
	struct thread *all_next;      /* thread_list (every live thread) */
	struct thread *run_next;      /* run queue */
	struct thread *wait_next;     /* waitq list */
	struct waitq *waiting_on;     /* while SLEEPING on a waitq */
	uint64_t wake_at_ns;          /* timed sleep deadline, 0 if none */
	struct thread *timer_next;    /* list of timed sleepers */
	bool timed_out;
	int cpu;                      /* CPU it last ran on, -1 never */
	bool is_idle;
	struct kstack kstack;
	struct trapframe *tf;         /* user threads: frame at the top of the kstack */
	struct arch_context ctx;      /* saved callee-saved registers */
	void (*kentry)(void *);       /* kernel threads: entry point */
	void *karg;
	uint64_t runtime_ns;          /* time on a CPU */
	uint64_t last_run_ns;
	uint64_t switches;
};

extern struct process *process_list;
extern struct thread *thread_list;
extern struct spinlock proc_lock;

struct process *current_process(void);
struct thread *current_thread(void);

/* Create a process running the executable at `path` (kernel memory) with
 * argv/envp (kernel arrays of kernel strings). parent may be NULL (pid 1).
 * Returns the pid or -errno. */
int proc_spawn_kernel(struct process *parent, const char *path,
		      char *const argv[], char *const envp[]);
/* Terminate the calling process with `status` (a W_EXITCODE word). */
__noreturn void proc_exit(int status);
/* Terminate the calling thread (the process exits with the last one). */
__noreturn void thread_exit(void);
/* Kill a process (fault or signal): it exits with W_EXITCODE(0, sig). */
int proc_kill(int pid, int sig);
void proc_kill_current(int sig, const char *why);

/* Start a kernel thread. Returns the thread or NULL. */
struct thread *kthread_create(const char *name, void (*fn)(void *), void *arg);

/* Fill up to max pids of live (not yet reaped) processes in ascending
 * order; returns how many exist (may exceed max). */
int proc_list_pids(int *pids, int max);

/* /proc views (formats in docs/kernel.md). */
void proc_view_processes(struct sbuf *sb);
void proc_view_threads(struct sbuf *sb);
int proc_view_maps(int pid, struct sbuf *sb);
void cpu_view(struct sbuf *sb);
const char *kernel_cmdline(void);
/* Value of `key=` on the kernel command line (copied into buf), or NULL. */
const char *cmdline_get(const char *key, char *buf, size_t n);
bool cmdline_has(const char *word);

void proc_init(void);

#endif
