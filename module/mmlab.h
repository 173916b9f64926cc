/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmlab.h - shared between the files of the C shim; never seen by C++.
 */
#ifndef MMLAB_SHIM_H
#define MMLAB_SHIM_H

#include <linux/errno.h>
#include <linux/types.h>
#include "mmlab/core.h"

/* The module's one core; set before debugfs appears, cleared after it goes. */
extern struct mmlab_core *mmlab_core;

static inline int mmlab_status_to_errno(enum mmlab_status status)
{
	switch (status) {
	case MMLAB_OK:		return 0;
	case MMLAB_EINVAL:	return -EINVAL;
	case MMLAB_ENOMEM:	return -ENOMEM;
	case MMLAB_ENOENT:	return -ENOENT;
	case MMLAB_EBUSY:	return -EBUSY;
	case MMLAB_ENOSPC:	return -ENOSPC;
	case MMLAB_EUCLEAN:	return -EUCLEAN;
	}
	return -EIO;
}

/* host_pages.c: pages lent to the core, counted independently of it. */
struct mmlab_host_page_counts {
	u64 borrowed;	/* pages ever taken from the host's alloc_pages() */
	u64 returned;	/* pages ever given back with __free_page() */
};
void mmlab_host_page_counts(struct mmlab_host_page_counts *out);
bool mmlab_host_has_normal(void);

/* kswapd.c */
int mmlab_kswapd_start(void);
void mmlab_kswapd_stop(void);

/* bench.c */
struct seq_file;
int mmlab_bench_run(unsigned int runs);
int mmlab_bench_show(struct seq_file *m);
void mmlab_bench_exit(void);

/* api.c: the exported API's mempool trampolines */
void mmlab_api_exit(void);
void mmlab_api_free_all(void);

/* mmdev.c: /dev/mmlab */
int mmlab_mmdev_init(void);
void mmlab_mmdev_exit(void);

struct dentry;
/* mmdev.c: the region behind a /dev/mmlab VMA (NULL: not one); mmap lock held */
struct vm_area_struct;
struct mmlab_region *mmlab_mmdev_vma_region(struct vm_area_struct *vma);

/* explain.c: debugfs pagemap and explain (docs/pagemap.md) */
void mmlab_explain_files(struct dentry *dir);

/* debug.c: slub_debug= and page_poison= (docs/debugging.md) */
struct dentry;
int mmlab_debug_params(void);
void mmlab_debug_files(struct dentry *dir);

/* debugfs.c */
struct dentry;
int mmlab_debugfs_init(void);
/* The mmlab/ directory, for files other parts of the shim add to it. */
struct dentry *mmlab_debugfs_dir(void);
/* A view sink writing to a seq_file (ctx). */
void mmlab_seq_emit(void *ctx, const char *s, size_t len);
void mmlab_debugfs_exit(void);

/* fail.c: mmlab/fail/<site>/ (fault injection) */
void mmlab_fail_debugfs_init(struct dentry *parent);

/* replay.c: trace, extfrag_index, replay, replay_trace (docs/replay.md) */
void mmlab_replay_init(struct dentry *dir);
void mmlab_replay_exit(void);

#endif /* MMLAB_SHIM_H */
