// SPDX-License-Identifier: GPL-2.0
/*
 * kswapd.c - the mmlab_kswapd kernel thread.
 *
 * Like Linux's kswapd it sleeps until an allocation finds a zone below its
 * low watermark (the core calls mmlab_host_kswapd_wake()), then runs one
 * balancing pass in the core, which works every zone up to its high
 * watermark or gives up, and goes back to sleep. The policy is all in the
 * core (mmlab_core_kswapd); this file only owns the thread.
 *
 * Wake-ups may come from any context, including interrupts and under core
 * locks: setting a bit and wake_up() are safe there. A wake-up that arrives
 * while a pass runs is not lost: the bit is cleared before the pass starts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/freezer.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "mmlab.h"
#include "mmlab/host.h"

static DECLARE_WAIT_QUEUE_HEAD(mmlab_kswapd_wait);
static unsigned long mmlab_kswapd_pending;
static struct task_struct *mmlab_kswapd_task;

void mmlab_host_kswapd_wake(void)
{
	if (!test_and_set_bit(0, &mmlab_kswapd_pending))
		wake_up_interruptible(&mmlab_kswapd_wait);
}

static int mmlab_kswapd(void *unused)
{
	set_freezable();
	while (!kthread_should_stop()) {
		wait_event_freezable(mmlab_kswapd_wait,
				     test_bit(0, &mmlab_kswapd_pending) ||
				     kthread_should_stop());
		if (kthread_should_stop())
			break;
		clear_bit(0, &mmlab_kswapd_pending);
		mmlab_core_kswapd(mmlab_core);
	}
	return 0;
}

int mmlab_kswapd_start(void)
{
	struct task_struct *t = kthread_run(mmlab_kswapd, NULL, "mmlab_kswapd");

	if (IS_ERR(t))
		return PTR_ERR(t);
	mmlab_kswapd_task = t;
	return 0;
}

void mmlab_kswapd_stop(void)
{
	if (mmlab_kswapd_task)
		kthread_stop(mmlab_kswapd_task);
	mmlab_kswapd_task = NULL;
}
