// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/mmlab/: views and the control file.
 *
 * Views are rendered by the core straight into the seq_file. The control file
 * hands each written line to the core's command parser and keeps the last
 * result per open file, so "write a command, read the answer" works on one
 * descriptor and concurrent users do not see each other's results.
 * The formats are documented in docs/debugfs.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mmlab.h"

/* A write longer than this is refused before it is copied. */
#define MMLAB_CONTROL_WRITE_MAX	4096
#define MMLAB_RESULT_MAX	512

static struct dentry *mmlab_dir;

void mmlab_seq_emit(void *ctx, const char *s, size_t len)
{
	seq_write(ctx, s, len);
}

struct dentry *mmlab_debugfs_dir(void)
{
	return mmlab_dir;
}

static int mmlab_view_show(struct seq_file *m, void *v)
{
	enum mmlab_view view = (enum mmlab_view)(uintptr_t)m->private;

	return mmlab_status_to_errno(mmlab_core_render(mmlab_core, view,
						       mmlab_seq_emit, m));
}

static int mmlab_view_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_view_show, inode->i_private);
}

static const struct file_operations mmlab_view_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_view_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

struct mmlab_control_file {
	struct mutex lock;		/* serialises commands on this open file */
	size_t result_len;
	size_t read_pos;		/* how much of result was read since the write */
	char result[MMLAB_RESULT_MAX];
};

static int mmlab_control_open(struct inode *inode, struct file *file)
{
	struct mmlab_control_file *cf = kzalloc(sizeof(*cf), GFP_KERNEL);

	if (!cf)
		return -ENOMEM;
	mutex_init(&cf->lock);
	file->private_data = cf;
	return stream_open(inode, file);
}

static int mmlab_control_release(struct inode *inode, struct file *file)
{
	struct mmlab_control_file *cf = file->private_data;

	mutex_destroy(&cf->lock);
	kfree(cf);
	return 0;
}

static void mmlab_control_set_result(struct mmlab_control_file *cf)
{
	cf->result_len = strnlen(cf->result, sizeof(cf->result) - 1);
	cf->result[cf->result_len++] = '\n';
	cf->read_pos = 0;
}

/*
 * Runs every line of the write in order and stops at the first failure,
 * whose errno the write returns. One trailing newline ends the last line;
 * anything else (an empty line, a NUL byte) is part of a command and the
 * core's parser judges it.
 */
static ssize_t mmlab_control_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct mmlab_control_file *cf = file->private_data;
	const char *line, *end;
	char *buf;
	int err = 0;

	if (count > MMLAB_CONTROL_WRITE_MAX) {
		mutex_lock(&cf->lock);
		snprintf(cf->result, sizeof(cf->result) - 1,
			 "control: write of %zu bytes refused (at most %d)",
			 count, MMLAB_CONTROL_WRITE_MAX);
		pr_warn_ratelimited("%s\n", cf->result);
		mmlab_control_set_result(cf);
		mutex_unlock(&cf->lock);
		return -EINVAL;
	}
	buf = memdup_user(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);

	mutex_lock(&cf->lock);
	end = buf + count;
	if (count && end[-1] == '\n')
		end--;
	line = buf;
	do {
		const char *nl = memchr(line, '\n', end - line);
		size_t len = (nl ? nl : end) - line;
		enum mmlab_status st;

		st = mmlab_core_control(mmlab_core, line, len, cf->result,
					sizeof(cf->result) - 1);
		mmlab_control_set_result(cf);
		err = mmlab_status_to_errno(st);
		line = nl ? nl + 1 : end;
		if (!nl)
			break;
	} while (!err);
	mutex_unlock(&cf->lock);

	kfree(buf);
	return err ? err : count;
}

static ssize_t mmlab_control_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct mmlab_control_file *cf = file->private_data;
	loff_t pos;
	ssize_t ret;

	mutex_lock(&cf->lock);
	pos = cf->read_pos;
	ret = simple_read_from_buffer(ubuf, count, &pos, cf->result,
				      cf->result_len);
	cf->read_pos = pos;
	mutex_unlock(&cf->lock);
	return ret;
}

static const struct file_operations mmlab_control_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_control_open,
	.release = mmlab_control_release,
	.write = mmlab_control_write,
	.read = mmlab_control_read,
};

/*
 * bench: "run" or "run runs=N" (default 7) measures, blocking the writer
 * until done; reading shows the last table (bench.c).
 */
#define MMLAB_BENCH_DEFAULT_RUNS 7

static int mmlab_bench_seq_show(struct seq_file *m, void *v)
{
	return mmlab_bench_show(m);
}

static int mmlab_bench_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_bench_seq_show, NULL);
}

/*
 * User input echoed into the kernel log: bytes outside printable ASCII and
 * ':' become '?', as the core's QuoteBytes() does, so no write can make a
 * line that reads as a kernel report ("BUG:", "WARNING:") or spans lines.
 */
static void mmlab_sanitize_echo(char *s)
{
	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == ':')
			*s = '?';
	}
}

static ssize_t mmlab_bench_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	unsigned int runs = MMLAB_BENCH_DEFAULT_RUNS;
	char buf[32], *arg;
	int err;

	if (count >= sizeof(buf)) {
		pr_warn_ratelimited("bench: write of %zu bytes refused\n", count);
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	arg = strim(buf);
	mmlab_sanitize_echo(arg);
	if (strncmp(arg, "run", 3) || (arg[3] && arg[3] != ' ')) {
		pr_warn_ratelimited("bench: unknown command '%s' (try: run [runs=N])\n", arg);
		return -EINVAL;
	}
	arg = skip_spaces(arg + 3);
	if (*arg) {
		if (strncmp(arg, "runs=", 5) || kstrtouint(arg + 5, 10, &runs)) {
			pr_warn_ratelimited("bench: bad argument '%s' (try: run [runs=N])\n", arg);
			return -EINVAL;
		}
	}
	err = mmlab_bench_run(runs);
	return err ? err : count;
}

static const struct file_operations mmlab_bench_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_bench_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = mmlab_bench_write,
};

int mmlab_debugfs_init(void)
{
	mmlab_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(mmlab_dir))
		return PTR_ERR(mmlab_dir);

	debugfs_create_file("buddyinfo", 0444, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_BUDDYINFO, &mmlab_view_fops);
	debugfs_create_file("stats", 0444, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_STATS, &mmlab_view_fops);
	debugfs_create_file("zoneinfo", 0444, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_ZONEINFO, &mmlab_view_fops);
	/* 0400 like /proc/slabinfo and /proc/vmallocinfo. */
	debugfs_create_file("slabinfo", 0400, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_SLABINFO, &mmlab_view_fops);
	debugfs_create_file("mempools", 0444, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_MEMPOOLS, &mmlab_view_fops);
	debugfs_create_file("vmallocinfo", 0400, mmlab_dir,
			    (void *)(uintptr_t)MMLAB_VIEW_VMALLOCINFO, &mmlab_view_fops);
	debugfs_create_file("control", 0600, mmlab_dir, NULL, &mmlab_control_fops);
	debugfs_create_file("bench", 0600, mmlab_dir, NULL, &mmlab_bench_fops);
	mmlab_debug_files(mmlab_dir);
	mmlab_explain_files(mmlab_dir);
	mmlab_replay_init(mmlab_dir);
	return 0;
}

void mmlab_debugfs_exit(void)
{
	debugfs_remove_recursive(mmlab_dir);
	mmlab_dir = NULL;
	mmlab_bench_exit();
	mmlab_replay_exit();
}
