// SPDX-License-Identifier: GPL-2.0
/*
 * debug.c - the switches of mmlab's own debugging (docs/debugging.md):
 * module parameters slub_debug= and page_poison=, and the debugfs files
 * slub_debug and page_poison that show and change them; and the slab
 * policy (docs/slab-policies.md): slab_policy= and the debugfs file
 * slab_policy. Glue only: the core parses and decides.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mmlab.h"

static char *slub_debug;
module_param(slub_debug, charp, 0444);
MODULE_PARM_DESC(slub_debug,
		 "debug flags for mmlab's slab caches, Linux's syntax: <FZPU>[,<cache>] (default: none)");

static char *slab_policy;
module_param(slab_policy, charp, 0444);
MODULE_PARM_DESC(slab_policy,
		 "policy of the kmalloc caches and default for new caches: slub, slab or slob (default: slub)");

static bool page_poison;
module_param(page_poison, bool, 0444);
MODULE_PARM_DESC(page_poison,
		 "fill free pages with 0xaa and check them on allocation (default: off)");

#define MMLAB_DEBUG_WRITE_MAX	64
#define MMLAB_DEBUG_RESULT_MAX	192

static int mmlab_slub_debug_show(struct seq_file *m, void *v)
{
	mmlab_core_slub_debug_show(mmlab_core, mmlab_seq_emit, m);
	return 0;
}

static int mmlab_slub_debug_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_slub_debug_show, NULL);
}

static ssize_t mmlab_slub_debug_write(struct file *file, const char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	char result[MMLAB_DEBUG_RESULT_MAX];
	enum mmlab_status st;
	char *buf;

	if (count > MMLAB_DEBUG_WRITE_MAX) {
		pr_warn_ratelimited("slub_debug: write of %zu bytes refused (at most %d)\n",
				    count, MMLAB_DEBUG_WRITE_MAX);
		return -EINVAL;
	}
	buf = memdup_user(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	st = mmlab_core_slub_debug_set(mmlab_core, buf, count, result, sizeof(result));
	kfree(buf);
	if (st == MMLAB_OK)
		pr_info("%s\n", result);
	return st == MMLAB_OK ? count : mmlab_status_to_errno(st);
}

static const struct file_operations mmlab_slub_debug_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_slub_debug_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = mmlab_slub_debug_write,
};

static int mmlab_slab_policy_show(struct seq_file *m, void *v)
{
	mmlab_core_slab_policy_show(mmlab_core, mmlab_seq_emit, m);
	return 0;
}

static int mmlab_slab_policy_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_slab_policy_show, NULL);
}

/* A new default for caches created from now on; the kmalloc caches keep theirs. */
static ssize_t mmlab_slab_policy_write(struct file *file, const char __user *ubuf,
				       size_t count, loff_t *ppos)
{
	char result[MMLAB_DEBUG_RESULT_MAX];
	enum mmlab_status st;
	char *buf;

	if (count > MMLAB_DEBUG_WRITE_MAX) {
		pr_warn_ratelimited("slab_policy: write of %zu bytes refused (at most %d)\n",
				    count, MMLAB_DEBUG_WRITE_MAX);
		return -EINVAL;
	}
	buf = memdup_user(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	/* An unknown name is logged (pr_warn) by the core. */
	st = mmlab_core_slab_policy_set(mmlab_core, buf, count, 0, result, sizeof(result));
	kfree(buf);
	return st == MMLAB_OK ? count : mmlab_status_to_errno(st);
}

static const struct file_operations mmlab_slab_policy_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_slab_policy_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = mmlab_slab_policy_write,
};

static int mmlab_page_poison_get(void *data, u64 *val)
{
	*val = mmlab_core_page_poison(mmlab_core);
	return 0;
}

static int mmlab_page_poison_put(void *data, u64 val)
{
	char result[MMLAB_DEBUG_RESULT_MAX];

	if (val > 1)
		return -EINVAL;
	return mmlab_status_to_errno(mmlab_core_page_poison_set(mmlab_core, val, result,
								 sizeof(result)));
}
DEFINE_DEBUGFS_ATTRIBUTE(mmlab_page_poison_fops, mmlab_page_poison_get,
			 mmlab_page_poison_put, "%llu\n");

/*
 * Right after the core is made (nothing borrowed yet, the kmalloc caches
 * empty): the parameters. page_poison first, so the first chunk is poisoned.
 */
int mmlab_debug_params(void)
{
	char result[MMLAB_DEBUG_RESULT_MAX];
	enum mmlab_status st;

	if (page_poison) {
		st = mmlab_core_page_poison_set(mmlab_core, 1, result, sizeof(result));
		if (st != MMLAB_OK)
			return mmlab_status_to_errno(st);
	}
	/* Before slub_debug=, which then applies to the kmalloc caches' policy. */
	if (slab_policy) {
		st = mmlab_core_slab_policy_set(mmlab_core, slab_policy, strlen(slab_policy), 1,
						result, sizeof(result));
		if (st != MMLAB_OK) {
			pr_warn("slab_policy=%s refused\n", slab_policy);
			return mmlab_status_to_errno(st);
		}
		pr_info("%s\n", result);
	}
	if (slub_debug) {
		st = mmlab_core_slub_debug_set(mmlab_core, slub_debug, strlen(slub_debug),
					       result, sizeof(result));
		if (st != MMLAB_OK) {
			pr_warn("slub_debug=%s refused\n", slub_debug);
			return mmlab_status_to_errno(st);
		}
		pr_info("%s\n", result);
	}
	return 0;
}

/* The files, once the debugfs directory exists. */
void mmlab_debug_files(struct dentry *dir)
{
	debugfs_create_file("slub_debug", 0600, dir, NULL, &mmlab_slub_debug_fops);
	debugfs_create_file("slab_policy", 0600, dir, NULL, &mmlab_slab_policy_fops);
	debugfs_create_file_unsafe("page_poison", 0600, dir, NULL, &mmlab_page_poison_fops);
}
