// SPDX-License-Identifier: GPL-2.0
/*
 * explain.c - debugfs pagemap and explain, and the exported mmlab_explain().
 *
 * pagemap is a view like the others: the core renders it into the seq_file
 * (cxxcore/pagemap.cc), taking the zone lock once per row of 64 pages.
 *
 * explain keeps one answer per open file, as the control file does: write
 * a query, read the answer. The core answers "kaddr", "object" and
 * "handle" itself; "uva <addr>" is translated here, because only the shim
 * knows the writer's address space: the VMA holding the address (under the
 * mmap read lock) must be a /dev/mmlab mapping, which gives the region and
 * the page offset the core looks up. The formats are in docs/pagemap.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmlab.h"
#include "mmlab/mmlab.h"

/* A query is one short line. */
#define MMLAB_EXPLAIN_WRITE_MAX	128

static int mmlab_pagemap_show(struct seq_file *m, void *v)
{
	return mmlab_status_to_errno(mmlab_core_render_pagemap(mmlab_core, mmlab_seq_emit, m));
}

static int mmlab_pagemap_open(struct inode *inode, struct file *file)
{
	struct mmlab_core_counters c;

	/*
	 * Start with room for the rows (about 1.3 bytes a page) and some slab
	 * lines, so that seq_file rarely renders twice; it grows if needed.
	 */
	mmlab_core_counters(mmlab_core, &c);
	return single_open_size(file, mmlab_pagemap_show, NULL,
				PAGE_SIZE + c.host_pages * 3 / 2 + c.host_pages * 8);
}

static const struct file_operations mmlab_pagemap_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_pagemap_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

struct mmlab_explain_file {
	struct mutex lock;	/* one query at a time on this open file */
	size_t len;
	size_t read_pos;	/* how much of the answer was read since the write */
	char answer[MMLAB_EXPLAIN_MAX];
};

static int mmlab_explain_open(struct inode *inode, struct file *file)
{
	struct mmlab_explain_file *ef = kzalloc(sizeof(*ef), GFP_KERNEL);

	if (!ef)
		return -ENOMEM;
	mutex_init(&ef->lock);
	file->private_data = ef;
	return stream_open(inode, file);
}

static int mmlab_explain_release(struct inode *inode, struct file *file)
{
	struct mmlab_explain_file *ef = file->private_data;

	mutex_destroy(&ef->lock);
	kfree(ef);
	return 0;
}

/* User input echoed into the log: printable ASCII without ':' (see debugfs.c). */
static void mmlab_explain_sanitize(char *s)
{
	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == ':')
			*s = '?';
	}
}

/* Answer with one line and log it (bad input). */
static int mmlab_explain_refuse(struct mmlab_explain_file *ef, int err, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vscnprintf(ef->answer, sizeof(ef->answer) - 1, fmt, args);
	va_end(args);
	pr_warn_ratelimited("%s\n", ef->answer);
	return err;
}

/*
 * "uva <addr>": an address in the writer's own /dev/mmlab mapping. The
 * mmap read lock keeps the VMA, its file and so its region alive while the
 * core (which never sleeps here) answers.
 */
static int mmlab_explain_uva(struct mmlab_explain_file *ef, const char *arg)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct mmlab_region *region;
	unsigned long addr;
	enum mmlab_status st;
	size_t n;

	if (kstrtoul(arg, 0, &addr))
		return mmlab_explain_refuse(ef, -EINVAL,
					    "explain: uva: bad address '%s' (try: uva 0x<addr>)",
					    arg);
	if (!mm)
		return mmlab_explain_refuse(ef, -EINVAL, "explain: uva: the writer has no mm");
	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (!vma || addr < vma->vm_start) {
		mmap_read_unlock(mm);
		return mmlab_explain_refuse(ef, -EINVAL,
					    "explain: uva: no mapping at that address in pid %d",
					    task_tgid_nr(current));
	}
	region = mmlab_mmdev_vma_region(vma);
	if (!region) {
		mmap_read_unlock(mm);
		return mmlab_explain_refuse(ef, -EINVAL,
					    "explain: uva: the address is not in a /dev/mmlab mapping (pid %d)",
					    task_tgid_nr(current));
	}
	n = scnprintf(ef->answer, sizeof(ef->answer) - 1, "query: uva\n");
	st = mmlab_core_explain_region(mmlab_core, region,
				       vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT),
				       offset_in_page(addr), ef->answer + n,
				       sizeof(ef->answer) - 1 - n);
	mmap_read_unlock(mm);
	return mmlab_status_to_errno(st);
}

static ssize_t mmlab_explain_write(struct file *file, const char __user *ubuf, size_t count,
				   loff_t *ppos)
{
	struct mmlab_explain_file *ef = file->private_data;
	char buf[MMLAB_EXPLAIN_WRITE_MAX], *q;
	int err;

	if (count >= sizeof(buf)) {
		mutex_lock(&ef->lock);
		err = mmlab_explain_refuse(ef, -EINVAL,
					   "explain: write of %zu bytes refused (at most %zu)",
					   count, sizeof(buf) - 1);
		ef->len = strnlen(ef->answer, sizeof(ef->answer) - 1);
		ef->answer[ef->len++] = '\n';
		ef->read_pos = 0;
		mutex_unlock(&ef->lock);
		return err;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	q = strim(buf);

	mutex_lock(&ef->lock);
	ef->answer[0] = '\0';
	if (!strncmp(q, "uva", 3) && (q[3] == ' ' || q[3] == '\t')) {
		q = skip_spaces(q + 3);
		mmlab_explain_sanitize(q);
		err = mmlab_explain_uva(ef, q);
	} else {
		err = mmlab_status_to_errno(mmlab_core_explain(mmlab_core, q, strlen(q), ef->answer,
							       sizeof(ef->answer) - 1));
	}
	ef->len = strnlen(ef->answer, sizeof(ef->answer) - 1);
	if (!ef->len || ef->answer[ef->len - 1] != '\n')
		ef->answer[ef->len++] = '\n';
	ef->read_pos = 0;
	mutex_unlock(&ef->lock);
	return err ? err : count;
}

static ssize_t mmlab_explain_read(struct file *file, char __user *ubuf, size_t count,
				  loff_t *ppos)
{
	struct mmlab_explain_file *ef = file->private_data;
	loff_t pos;
	ssize_t ret;

	mutex_lock(&ef->lock);
	pos = ef->read_pos;
	ret = simple_read_from_buffer(ubuf, count, &pos, ef->answer, ef->len);
	ef->read_pos = pos;
	mutex_unlock(&ef->lock);
	return ret;
}

static const struct file_operations mmlab_explain_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_explain_open,
	.release = mmlab_explain_release,
	.write = mmlab_explain_write,
	.read = mmlab_explain_read,
};

void mmlab_explain_files(struct dentry *dir)
{
	/* 0400/0600 like slabinfo and control: they name caches and owners. */
	debugfs_create_file("pagemap", 0400, dir, NULL, &mmlab_pagemap_fops);
	debugfs_create_file("explain", 0600, dir, NULL, &mmlab_explain_fops);
}

int mmlab_explain(const void *addr, char *buf, size_t len)
{
	if (!buf || !len)
		return -EINVAL;
	return mmlab_status_to_errno(mmlab_core_explain_addr(mmlab_core, addr, buf, len));
}
EXPORT_SYMBOL_GPL(mmlab_explain);
