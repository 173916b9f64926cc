// SPDX-License-Identifier: GPL-2.0
/*
 * host_sync.c - the core's locks are real kernel spinlocks.
 *
 * Each lock gets its own dynamically registered lockdep class named by the
 * core, so lockdep reports say "mmlab_zone" rather than one anonymous class
 * for every lock the core owns, and nesting two different core locks is not
 * mistaken for recursion.
 */
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "mmlab/host.h"

struct mmlab_host_lock {
	spinlock_t lock;
	struct lock_class_key key;
};

struct mmlab_host_lock *mmlab_host_lock_create(const char *name)
{
	struct mmlab_host_lock *l = kzalloc(sizeof(*l), GFP_KERNEL);

	if (!l)
		return NULL;
	lockdep_register_key(&l->key);
	spin_lock_init(&l->lock);
	lockdep_set_class_and_name(&l->lock, &l->key, name);
	return l;
}

void mmlab_host_lock_destroy(struct mmlab_host_lock *l)
{
	if (!l)
		return;
	lockdep_unregister_key(&l->key);
	kfree(l);
}

unsigned long mmlab_host_lock_irqsave(struct mmlab_host_lock *l)
{
	unsigned long flags;

	spin_lock_irqsave(&l->lock, flags);
	return flags;
}

void mmlab_host_unlock_irqrestore(struct mmlab_host_lock *l, unsigned long flags)
{
	spin_unlock_irqrestore(&l->lock, flags);
}
