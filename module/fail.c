// SPDX-License-Identifier: GPL-2.0
/*
 * fail.c - fault injection: /sys/kernel/debug/mmlab/fail/<site>/, and the
 * host hooks that reach the kernel's own per-task switches.
 *
 * Each site directory has the files fault_create_debugfs_attr() makes for
 * failslab and fail_page_alloc (probability, interval, times, space,
 * verbose, verbose_ratelimit_*, task-filter), the extras of those two
 * where they apply (ignore-gfp-wait, min-order), mmlab's seed, and the
 * read-only counters calls and injected. The values live in the core
 * (cxxcore/fault_inject.cc), which also parses what is written, so a bad
 * value is -EINVAL with a pr_warn saying why; this file only moves bytes.
 *
 * With CONFIG_FAULT_INJECTION the kernel's /proc/<pid>/fail-nth and
 * /proc/<pid>/make-it-fail apply too: every site asks should_fail() on an
 * attribute of probability 0, which only runs the task's fail-nth
 * countdown. docs/fault-injection.md has the whole story.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "mmlab.h"
#include "mmlab/host.h"

/* Longer writes are refused before they are copied. */
#define MMLAB_FAIL_WRITE_MAX	64

struct mmlab_fail_file {
	u8 site;
	u8 param;
};

static struct mmlab_fail_file mmlab_fail_files[MMLAB_FAULT_NR_SITES][MMLAB_FAULT_NR_PARAMS];

static ssize_t mmlab_fail_read(struct file *file, char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	const struct mmlab_fail_file *f = file->private_data;
	char buf[32];
	size_t len;

	len = mmlab_core_fault_read(mmlab_core, f->site, f->param, buf, sizeof(buf));
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static ssize_t mmlab_fail_write(struct file *file, const char __user *ubuf, size_t count,
				loff_t *ppos)
{
	const struct mmlab_fail_file *f = file->private_data;
	char buf[MMLAB_FAIL_WRITE_MAX];
	char why[160];
	enum mmlab_status st;

	if (count >= sizeof(buf)) {
		pr_warn_ratelimited("fail/%s/%s: a %zu-byte write is too long for a number\n",
				    mmlab_core_fault_site_name(f->site),
				    mmlab_core_fault_param_name(f->param), count);
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	/* The core logs the reason (pr_warn) for a refused value. */
	st = mmlab_core_fault_write(mmlab_core, f->site, f->param, buf, count, why, sizeof(why));
	if (st != MMLAB_OK)
		return mmlab_status_to_errno(st);
	*ppos += count;
	return count;
}

static const struct file_operations mmlab_fail_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = mmlab_fail_read,
	.write = mmlab_fail_write,
	.llseek = default_llseek,
};

/*
 * Under the mmlab/ directory, removed with it (debugfs_remove_recursive
 * waits for readers and writers, before the core goes).
 */
void mmlab_fail_debugfs_init(struct dentry *parent)
{
	struct dentry *fail, *dir;
	unsigned int s, p, mode;

	fail = debugfs_create_dir("fail", parent);
	for (s = 0; s < MMLAB_FAULT_NR_SITES; s++) {
		dir = debugfs_create_dir(mmlab_core_fault_site_name(s), fail);
		for (p = 0; p < MMLAB_FAULT_NR_PARAMS; p++) {
			mode = mmlab_core_fault_param_mode(s, p);
			if (!mode)
				continue;
			mmlab_fail_files[s][p].site = s;
			mmlab_fail_files[s][p].param = p;
			debugfs_create_file(mmlab_core_fault_param_name(p), mode, dir,
					    &mmlab_fail_files[s][p], &mmlab_fail_fops);
		}
	}
}

/* --- host.h: the kernel's per-task switches -------------------------------- */

#ifdef CONFIG_FAULT_INJECTION
/*
 * Probability 0: should_fail() returns at "No need to check any other
 * properties" unless the task's fail-nth countdown hits first. verbose 0:
 * mmlab prints its own report (the site's verbose), and this attribute has
 * no debugfs dentry for fail_dump() to name.
 */
static struct fault_attr mmlab_fail_nth_attr = FAULT_ATTR_INITIALIZER;

uint32_t mmlab_host_fail_caps(void)
{
	WRITE_ONCE(mmlab_fail_nth_attr.verbose, 0);
	return MMLAB_HOST_FAIL_NTH | MMLAB_HOST_FAIL_TASK;
}

int mmlab_host_fail_nth(int64_t size)
{
	return should_fail(&mmlab_fail_nth_attr, size);
}

int mmlab_host_fail_task(void)
{
	return in_task() && current->make_it_fail;
}
#else
uint32_t mmlab_host_fail_caps(void)
{
	return 0;
}

int mmlab_host_fail_nth(int64_t size)
{
	return 0;
}

int mmlab_host_fail_task(void)
{
	return 0;
}
#endif

void mmlab_host_dump_stack(void)
{
	dump_stack();
}
