// SPDX-License-Identifier: GPL-2.0
/*
 * mmlab_bugs.c - misuses mmlab's exported API on purpose, one bug per load,
 * so the kernel's own checkers can be seen catching bugs in code that uses
 * mmlab's objects (docs/kernel-checkers.md, selftests/mmlab/kernel_checkers.c):
 *
 *   insmod mmlab_bugs.ko bug=uaf          reads a freed mmlab_kmalloc(64) object
 *                                         (KASAN: use-after-free; 6.12:
 *                                         slab-use-after-free)
 *   insmod mmlab_bugs.ko bug=cache_uaf    writes a freed object of its own
 *                                         mmlab_kmem_cache (KASAN, as above)
 *   insmod mmlab_bugs.ko bug=redzone      reads byte 60 of mmlab_kmalloc(60)
 *                                         (KASAN: slab-out-of-bounds)
 *   insmod mmlab_bugs.ko bug=leak         mmlab_kmalloc(1000) and forgets it
 *                                         (kmemleak, at its next scan)
 *   insmod mmlab_bugs.ko bug=vleak        mmlab_vmalloc(12388) and forgets it
 *                                         (kmemleak, at its next scan)
 *   insmod mmlab_bugs.ko bug=double_free  mmlab_kfree()s one object twice
 *                                         (mmlab's own report; the second
 *                                         free is refused)
 *
 * The bug runs in the module's init, which then returns 0: the module stays
 * loaded so that the stacks in the reports - kmemleak prints its report
 * only at a later scan - still resolve to mmlab_bugs symbols. rmmod it
 * before the next bug (rmmod also frees the "leaked" object). On a kernel without KASAN the bad reads read stale
 * memory mmlab still owns: nothing crashes and nothing is reported.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>

#include <mmlab/mmlab.h>

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "uaf, cache_uaf, redzone, leak, vleak or double_free");

/* Where the bad reads go, so the compiler keeps them. */
static unsigned char mmlab_bugs_sink;

static noinline int mmlab_bugs_uaf(void)
{
	unsigned char *p = mmlab_kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memset(p, 0x55, 64);
	mmlab_kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	pr_info("reading a freed mmlab_kmalloc(64) object\n");
	mmlab_bugs_sink = READ_ONCE(p[8]);
	return 0;
}

static noinline int mmlab_bugs_cache_uaf(void)
{
	struct mmlab_kmem_cache *s;
	unsigned char *p;

	s = mmlab_kmem_cache_create("mmlab_bugs", 100, 0, 0, NULL);
	if (!s)
		return -ENOMEM;
	p = mmlab_kmem_cache_alloc(s, GFP_KERNEL);
	if (!p) {
		mmlab_kmem_cache_destroy(s);
		return -ENOMEM;
	}
	mmlab_kmem_cache_free(s, p);
	OPTIMIZER_HIDE_VAR(p);
	pr_info("writing a freed object of mmlab cache mmlab_bugs\n");
	WRITE_ONCE(p[0], 0x42);
	mmlab_kmem_cache_destroy(s);
	return 0;
}

static noinline int mmlab_bugs_redzone(void)
{
	unsigned char *p = mmlab_kmalloc(60, GFP_KERNEL);
	size_t off = 60;

	if (!p)
		return -ENOMEM;
	OPTIMIZER_HIDE_VAR(off);
	pr_info("reading byte 60 of a mmlab_kmalloc(60) object\n");
	mmlab_bugs_sink = READ_ONCE(p[off]);
	mmlab_kfree(p);
	return 0;
}

/*
 * The leaked object, kept where kmemleak cannot see a pointer to it: this
 * module's data is scanned, so the address is stored inverted. For
 * kmemleak the object is lost; rmmod still frees it, so mmlab unloads with
 * nothing left over.
 */
static unsigned long mmlab_bugs_hidden;

/*
 * 1000 bytes: kmalloc-1k, a class nothing else in a fresh mmlab uses, so
 * no stale free pointer in a live neighbour points at the object.
 */
static noinline int mmlab_bugs_leak(void)
{
	void *p = mmlab_kmalloc(1000, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	memset(p, 0x4c, 1000);
	WRITE_ONCE(mmlab_bugs_hidden, ~(unsigned long)p);
	pr_info("leaked a 1000-byte mmlab_kmalloc object (freed at rmmod)\n");
	return 0;
}

/* The same for a vmalloc area (kmemleak's min_count for it, host_check.c). */
static unsigned long mmlab_bugs_hidden_area;

static noinline int mmlab_bugs_vleak(void)
{
	void *p = mmlab_vmalloc(3 * PAGE_SIZE + 100);

	if (!p)
		return -ENOMEM;
	memset(p, 0x56, 3 * PAGE_SIZE + 100);
	WRITE_ONCE(mmlab_bugs_hidden_area, ~(unsigned long)p);
	pr_info("leaked a %lu-byte mmlab_vmalloc area (freed at rmmod)\n", 3 * PAGE_SIZE + 100);
	return 0;
}

static noinline int mmlab_bugs_double_free(void)
{
	void *p = mmlab_kmalloc(64, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	mmlab_kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	pr_info("freeing a mmlab_kmalloc(64) object twice\n");
	mmlab_kfree(p);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} mmlab_bugs[] = {
	{ "uaf", mmlab_bugs_uaf },
	{ "cache_uaf", mmlab_bugs_cache_uaf },
	{ "redzone", mmlab_bugs_redzone },
	{ "leak", mmlab_bugs_leak },
	{ "vleak", mmlab_bugs_vleak },
	{ "double_free", mmlab_bugs_double_free },
};

static int __init mmlab_bugs_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mmlab_bugs); i++)
		if (!strcmp(bug, mmlab_bugs[i].name))
			return mmlab_bugs[i].fn();
	pr_warn("bug=%s: not one of uaf, cache_uaf, redzone, leak, vleak, double_free\n", bug);
	return -EINVAL;
}

static void __exit mmlab_bugs_exit(void)
{
	if (mmlab_bugs_hidden)
		mmlab_kfree((void *)~mmlab_bugs_hidden);
	if (mmlab_bugs_hidden_area)
		mmlab_vfree((void *)~mmlab_bugs_hidden_area);
}

module_init(mmlab_bugs_init);
module_exit(mmlab_bugs_exit);
MODULE_DESCRIPTION("Deliberate bugs in a user of mmlab's API, for KASAN and kmemleak");
MODULE_LICENSE("GPL");
