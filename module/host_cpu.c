// SPDX-License-Identifier: GPL-2.0
/*
 * host_cpu.c - CPUs, sleeping and atomic contexts for the core.
 *
 * The per-CPU page lists are protected by nothing but "interrupts off on the
 * owning CPU": mmlab_host_local_irq_save() is local_irq_save() plus the CPU
 * number, and remote lists are only touched through on_each_cpu() (which runs
 * the function on each CPU with interrupts off) or after the CPU is dead.
 * On PREEMPT_RT both become a per-CPU lock (see below), as Linux's own
 * local_lock_irqsave() does there.
 *
 * mmlab_host_run_in_context() exists so a test can prove an allocation is
 * really atomic: it runs the request under a spinlock with interrupts off, or
 * in a timer callback (softirq). If anything on that path slept, the kernel's
 * might_sleep() checks would report "BUG: sleeping function called from
 * invalid context" and the VM tests would fail.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/local_lock.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "mmlab/host.h"

uint32_t mmlab_host_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

#ifndef CONFIG_PREEMPT_RT
unsigned long mmlab_host_local_irq_save(uint32_t *cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	*cpu = smp_processor_id();
	return flags;
}

void mmlab_host_local_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

void mmlab_host_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	might_sleep();
	on_each_cpu(fn, arg, 1);
}
#else
/*
 * PREEMPT_RT: the core's locks are spinlock_t, which sleep on RT, and the
 * per-CPU sections take them (a per-CPU list refilled from the zone). With
 * interrupts really off that would be a sleeping lock in atomic context, and
 * an IPI from on_each_cpu() a sleeping lock in hard interrupt context. So on
 * RT a per-CPU section is what local_lock_irqsave() is there: migration off
 * and this CPU's own lock held, which serialises every task that may run on
 * the CPU (on RT, softirqs and threaded interrupts are tasks too). Sections
 * nest (the slab layer's may call the page allocator's), so the lock
 * remembers its owner. Remote CPUs' lists are reached by a work item on
 * each CPU that takes that CPU's lock, as Linux's drain_all_pages() does.
 */
struct mmlab_cpu_lock {
	local_lock_t lock;
	struct task_struct *owner;
	unsigned int depth;
};

static DEFINE_PER_CPU(struct mmlab_cpu_lock, mmlab_cpu_lock) = {
	.lock = INIT_LOCAL_LOCK(lock),
};

unsigned long mmlab_host_local_irq_save(uint32_t *cpu)
{
	struct mmlab_cpu_lock *l;

	migrate_disable();
	l = this_cpu_ptr(&mmlab_cpu_lock);
	if (l->owner != current) {
		local_lock(&mmlab_cpu_lock.lock);
		l->owner = current;
	}
	l->depth++;
	*cpu = smp_processor_id();
	return 0;
}

void mmlab_host_local_irq_restore(unsigned long flags)
{
	struct mmlab_cpu_lock *l = this_cpu_ptr(&mmlab_cpu_lock);

	if (!--l->depth) {
		l->owner = NULL;
		local_unlock(&mmlab_cpu_lock.lock);
	}
	migrate_enable();
}

struct mmlab_cpu_call {
	struct work_struct work;
	void (*fn)(void *arg);
	void *arg;
};

static DEFINE_PER_CPU(struct mmlab_cpu_call, mmlab_cpu_call);
static DEFINE_MUTEX(mmlab_cpu_call_mutex);

static void mmlab_cpu_call_fn(struct work_struct *work)
{
	struct mmlab_cpu_call *call = container_of(work, struct mmlab_cpu_call, work);
	unsigned long flags;
	uint32_t cpu;

	flags = mmlab_host_local_irq_save(&cpu);
	call->fn(call->arg);
	mmlab_host_local_irq_restore(flags);
}

void mmlab_host_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	int cpu;

	might_sleep();
	mutex_lock(&mmlab_cpu_call_mutex);
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct mmlab_cpu_call *call = per_cpu_ptr(&mmlab_cpu_call, cpu);

		INIT_WORK(&call->work, mmlab_cpu_call_fn);
		call->fn = fn;
		call->arg = arg;
		queue_work_on(cpu, system_highpri_wq, &call->work);
	}
	for_each_online_cpu(cpu)
		flush_work(&per_cpu_ptr(&mmlab_cpu_call, cpu)->work);
	cpus_read_unlock();
	mutex_unlock(&mmlab_cpu_call_mutex);
}
#endif

void mmlab_host_might_sleep(void)
{
	might_sleep();
}

void mmlab_host_sleep_us(uint32_t usecs)
{
	if (usecs >= 20000)
		msleep(DIV_ROUND_UP(usecs, 1000));
	else
		usleep_range(usecs, usecs + usecs / 4 + 10);
}

/* A spinlock that exists only to make IRQS_OFF a real "spinlock held" context. */
static DEFINE_SPINLOCK(mmlab_atomic_lock);

struct mmlab_timer_call {
	struct timer_list timer;
	void (*fn)(void *arg);
	void *arg;
	struct completion done;
};

static void mmlab_timer_call_fn(struct timer_list *t)
{
	struct mmlab_timer_call *call = from_timer(call, t, timer);

	WARN_ON_ONCE(!in_softirq());
	call->fn(call->arg);
	complete(&call->done);
}

int mmlab_host_run_in_context(enum mmlab_host_context ctx,
			      void (*fn)(void *arg), void *arg)
{
	struct mmlab_timer_call call;
	unsigned long flags;

	switch (ctx) {
	case MMLAB_HOST_CTX_PROCESS:
		fn(arg);
		return 0;
	case MMLAB_HOST_CTX_IRQS_OFF:
		spin_lock_irqsave(&mmlab_atomic_lock, flags);
		fn(arg);
		spin_unlock_irqrestore(&mmlab_atomic_lock, flags);
		return 0;
	case MMLAB_HOST_CTX_TIMER:
		call.fn = fn;
		call.arg = arg;
		init_completion(&call.done);
		timer_setup_on_stack(&call.timer, mmlab_timer_call_fn, 0);
		mod_timer(&call.timer, jiffies + 1);
		wait_for_completion(&call.done);
		del_timer_sync(&call.timer);
		destroy_timer_on_stack(&call.timer);
		return 0;
	}
	return -EINVAL;
}
