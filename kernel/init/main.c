/*
 * main.c — kmain: the generic boot sequence, entered by the arch code on
 * the boot CPU (MMU on, higher half, interrupts off, console ready), and
 * kmain_secondary for the other CPUs.
 *
 *   per-CPU data -> console/klog -> build id -> frame allocator -> layout
 *   -> timer -> other CPUs -> banner -> kinit thread (VFS, /bin/init,
 *   crash=) -> this CPU becomes its idle thread.
 */
#include <kernel.h>
#include "../bpf/bpf.h"
#include <percpu.h>
#include <proc.h>
#include <sched.h>
#include <mm.h>
#include <console.h>
#include <layout.h>
#include <crash.h>
#include <vfs.h>
#include <klog.h>
#include <axiom/errno.h>

void cmdline_set(const char *s);

static struct thread idle_threads[MAX_CPUS];

/* Make the code running now this CPU's idle thread. */
static void cpu_setup(unsigned id)
{
	struct cpu *c = &cpus[id];
	struct thread *idle = &idle_threads[id];

	c->self = c;
	c->id = id;
	arch_set_cpu_local(c);
	idle->tid = 0;
	idle->state = THREAD_RUNNING;
	idle->is_idle = true;
	idle->cpu = (int)id;
	idle->last_run_ns = arch_time_ns();
	snprintf(idle->name, sizeof(idle->name), "idle%u", id);
	c->idle = idle;
	c->current = idle;
	spin_lock(&proc_lock);
	idle->all_next = thread_list;
	thread_list = idle;
	spin_unlock(&proc_lock);
}

static void cpu_online(unsigned id)
{
	struct cpu *c = &cpus[id];

	arch_set_kernel_stack(0);
	arch_timer_init(SCHED_HZ);
	c->last_tick_ns = arch_time_ns();
	__atomic_fetch_add(&ncpus_online, 1, __ATOMIC_RELAXED);
	c->online = true;
}

/* The first kernel thread: builds the namespace and starts pid 1. */
static void kinit(void *arg)
{
	char init_path[AX_PATH_MAX] = "/bin/init";
	char crash[32];

	bpf_subsys_init();       /* eBPF objects, maps budget and attach points */
	vfs_init();
	cmdline_get("init", init_path, sizeof(init_path));
	char *argv[] = { init_path, NULL };
	char *envp[] = { "PATH=/bin", "HOME=/", NULL };
	int pid = proc_spawn_kernel(NULL, init_path, argv, envp);
	if (pid < 0)
		panic("cannot start %s: error %d", init_path, pid);
	kprintf("axiom: started %s as pid %d", init_path, pid);

	if (cmdline_get("crash", crash, sizeof(crash))) {
		sched_sleep_ns(500ull * 1000 * 1000);   /* let init get going first */
		int err = crash_inject(crash);
		kprintf("crash=%s: %d", crash, err);
	}
}

void kmain(struct boot_info *bi)
{
	cpu_setup(0);
	console_init();
	cmdline_set(bi->cmdline);
	kprintf("axiom: build-id %s", build_id_hex());
	kprintf("axiom: boot protocol %s, command line \"%s\"", bi->protocol, bi->cmdline);
	for (unsigned i = 0; i < bi->nusable; i++)
		kprintf("axiom: usable ram 0x%llx-0x%llx", (unsigned long long)bi->usable[i].base,
			(unsigned long long)(bi->usable[i].base + bi->usable[i].size));
	pmm_init(bi);
	layout_init(bi->cmdline, bi->ram_top);
	cpu_online(0);

	unsigned n = arch_smp_start(MAX_CPUS);
	uint64_t deadline = arch_time_ns() + 1000000000ull;
	while (__atomic_load_n(&ncpus_online, __ATOMIC_ACQUIRE) < n && arch_time_ns() < deadline)
		arch_cpu_relax();
	axiom_layout.ncpus = ncpus_online;

	kprintf("axiom: %s %s cpus=%u mem=%lluMiB free=%llu frames profile=%s direct_map=0x%lx",
		ARCH_NAME, arch_paging_mode(), ncpus_online,
		(unsigned long long)(pmm.total_frames * PAGE_SIZE >> 20),
		(unsigned long long)pmm.free_frames, AXIOM_PROFILE, (unsigned long)direct_map_base);

	if (!kthread_create("kinit", kinit, NULL))
		panic("cannot create kinit");
	sched_idle_loop();
}

void kmain_secondary(unsigned cpu)
{
	cpu_setup(cpu);
	cpu_online(cpu);
	sched_idle_loop();
}
