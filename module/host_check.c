// SPDX-License-Identifier: GPL-2.0
/*
 * host_check.c - the kernel's own checkers (KASAN, kmemleak) over mmlab's
 * memory: the object lifecycle hooks of cxxcore/include/mmlab/host.h.
 *
 * This file is the contract's first step: the hooks are no-ops until the
 * KASAN shadow and kmemleak registrations are filled in.
 */
#include <linux/kernel.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/preempt.h>

#include "mmlab/host.h"

void mmlab_host_object_alloc(const void *obj, size_t size, uint32_t gfp)
{
}

void mmlab_host_object_free(const void *obj, size_t size)
{
}

void mmlab_host_poison(const void *addr, size_t size, enum mmlab_host_poison kind)
{
}

void mmlab_host_unpoison(const void *addr, size_t size)
{
}

int32_t mmlab_host_current_pid(void)
{
	return in_task() ? task_pid_nr(current) : 0;
}
