// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev.c - /dev/mmlab: each open file is a region of the core (region.h);
 * user programs mmap it and get mmlab's pages on fault. docs/mmdev.md is
 * the user's guide, docs/dev-mmlab-design.md the reasoning.
 *
 * Glue only:
 *  - .fault hands the core's page to the generic fault code as vmf->page
 *    with a reference and locked, so the pages are ordinary refcounted
 *    pages (GUP, O_DIRECT, process_vm_readv work) and MAP_PRIVATE
 *    copy-on-write is the kernel's.
 *  - Each region has its own address_space (an inode of a private pseudo
 *    filesystem, as DRM does), installed as file->f_mapping, so punch and
 *    shrink can unmap_mapping_range() this region's pages only.
 *  - The region keeps each page's base reference; a page goes back to the
 *    core only when that is the only one left (page_ref_freeze), checked
 *    under the page lock after its mappings are zapped. A page still
 *    pinned stays with the region; a region closed with pinned pages waits
 *    on the zombie list, retried by a delayed work, and keeps the module
 *    loaded until its pages are free.
 *  - fops.owner pins the module while a file is open, and vma->vm_file
 *    keeps the file while it is mapped, so rmmod is refused until the last
 *    mapping is gone.
 *
 * Punch against fault, as truncate against filemap_fault(): a fault takes
 * its page reference under mr->sem (read), then the page lock, then checks
 * the page is still in the region (else it retries); punch takes mr->sem
 * (write), zaps the range, and asks each page under the page lock.
 *
 * Lock order: mmap_lock, then mf->lock (mmap), then mmdev_lock, then mr->sem,
 * then the page lock, then the core's. No user memory is touched under
 * mf->lock (a fault there would take mmap_lock inside it).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/page_ref.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "mmlab.h"
#include "mmlab/mmdev.h"

#define MMDEV_FS_MAGIC	0x6d6d6c62	/* "mmlb" */

static_assert(MMLAB_MMDEV_ZONE_DMA32 == (int)MMLAB_ZONE_DMA32);
static_assert(MMLAB_MMDEV_ZONE_NORMAL == (int)MMLAB_ZONE_NORMAL);

/* One per core region; shared by the opener's file and attached files. */
struct mmdev_region {
	struct mmlab_region *core;
	struct inode *inode;		/* its address_space: f_mapping of its files */
	/* Faults read; punch, size changes and destroy write. */
	struct rw_semaphore sem;
	struct list_head link;		/* mmdev_regions or mmdev_zombies */
	struct dentry *faults;		/* debugfs faults/<id> */
	u64 id;
	pid_t pid;			/* the opener's tgid */
	char name[MMLAB_REGION_NAME_MAX];	/* "" unnamed; under mmdev_lock */
	unsigned int files;		/* under mmdev_lock */
	atomic_long_t mappings;		/* VMAs, counted by vm_ops open/close */
};

/* One per open file. */
struct mmdev_file {
	struct mutex lock;		/* region switch (attach) against first use */
	struct mmdev_region *region;
	bool used;			/* sized, mapped, named or attached */
};

static DEFINE_MUTEX(mmdev_lock);
static LIST_HEAD(mmdev_regions);
static LIST_HEAD(mmdev_zombies);	/* closed, pages still pinned */
static struct vfsmount *mmdev_mnt;
static struct dentry *mmdev_faults_dir;
static DEFINE_MUTEX(mmdev_overcommit_lock);

static void mmdev_reap_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(mmdev_reaper, mmdev_reap_fn);

/*
 * The core asks before each page goes back: busy unless the region's base
 * reference is the only one. A fault that is installing the page holds its
 * lock, so once we have it any PTE is in place and zapped here; the freeze
 * then makes the answer stable (no new reference can be taken meanwhile).
 */
static int mmdev_page_busy(void *ctx, u64 pfn, u64 pgoff)
{
	struct mmdev_region *mr = ctx;
	struct page *page = pfn_to_page(pfn);
	struct folio *folio = page_folio(page);
	int busy = 1;

	folio_lock(folio);
	if (folio_mapped(folio))
		unmap_mapping_range(mr->inode->i_mapping, (loff_t)pgoff << PAGE_SHIFT, PAGE_SIZE, 0);
	/*
	 * PG_mlocked is cleared by munlock when the last locked mapping goes,
	 * possibly later from a per-CPU batch that holds a reference: wait.
	 */
	if (!folio_test_mlocked(folio) && page_ref_freeze(page, 1)) {
		/* What the fault and unmap paths may have left set. */
		folio_clear_referenced(folio);
		folio_clear_dirty(folio);
		page_ref_unfreeze(page, 1);
		busy = 0;
	}
	folio_unlock(folio);
	return busy;
}

static vm_fault_t mmdev_fault(struct vm_fault *vmf)
{
	struct mmdev_region *mr = vmf->vma->vm_private_data;
	struct mmlab_page *mp;
	enum mmlab_status st;
	struct page *page = NULL;

	down_read(&mr->sem);
	st = mmlab_core_region_fault(mr->core, vmf->pgoff, task_pid_nr(current), vmf->address, &mp);
	if (st == MMLAB_OK) {
		page = pfn_to_page(mmlab_core_page_to_pfn(mmlab_core, mp));
		get_page(page);
	}
	up_read(&mr->sem);

	if (st == MMLAB_EINVAL)
		return VM_FAULT_SIGBUS;	/* at or past the size, as for a file */
	if (st != MMLAB_OK) {
		/*
		 * Not VM_FAULT_OOM: a global OOM kill cannot give mmlab pages,
		 * and since 5.16 an OOM that leaks to the page-fault handler
		 * just refaults forever. hugetlbfs answers SIGBUS too.
		 */
		pr_warn_ratelimited("mmdev: region %llu: no page for offset %lu (pid %d): SIGBUS\n",
				    mr->id, vmf->pgoff, task_pid_nr(current));
		return VM_FAULT_SIGBUS;
	}

	lock_page(page);
	if (mmlab_core_region_lookup(mr->core, vmf->pgoff) != mp) {
		/* Punched or shrunk while we waited: fault again. */
		unlock_page(page);
		put_page(page);
		return VM_FAULT_NOPAGE;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

static void mmdev_vm_open(struct vm_area_struct *vma)
{
	struct mmdev_region *mr = vma->vm_private_data;

	atomic_long_inc(&mr->mappings);
}

static void mmdev_vm_close(struct vm_area_struct *vma)
{
	struct mmdev_region *mr = vma->vm_private_data;

	atomic_long_dec(&mr->mappings);
}

static const struct vm_operations_struct mmdev_vm_ops = {
	.open = mmdev_vm_open,
	.close = mmdev_vm_close,
	.fault = mmdev_fault,
};

/*
 * explain.c's "uva": the core region behind a /dev/mmlab mapping, or NULL
 * for any other VMA. The caller holds the mmap lock, which keeps the VMA's
 * file, and so its region, alive.
 */
struct mmlab_region *mmlab_mmdev_vma_region(struct vm_area_struct *vma)
{
	struct mmdev_region *mr;

	if (vma->vm_ops != &mmdev_vm_ops)
		return NULL;
	mr = vma->vm_private_data;
	return mr->core;
}

/* --- region lifetime -------------------------------------------------------- */

static int mmdev_faults_show(struct seq_file *m, void *v)
{
	struct mmdev_region *mr = m->private;

	mmlab_core_region_render_faults(mr->core, mmlab_seq_emit, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mmdev_faults);

static struct mmdev_region *mmdev_region_new(void)
{
	struct mmlab_region_stats rs;
	struct mmdev_region *mr;
	enum mmlab_status st;
	char name[24];
	int err;

	mr = kzalloc(sizeof(*mr), GFP_KERNEL);
	if (!mr)
		return ERR_PTR(-ENOMEM);
	init_rwsem(&mr->sem);
	atomic_long_set(&mr->mappings, 0);
	mr->pid = task_tgid_nr(current);
	mr->files = 1;
	mr->inode = alloc_anon_inode(mmdev_mnt->mnt_sb);
	if (IS_ERR(mr->inode)) {
		err = PTR_ERR(mr->inode);
		kfree(mr);
		return ERR_PTR(err);
	}
	st = mmlab_core_region_create(mmlab_core, MMLAB_ZONE_NORMAL, &mr->core);
	if (st != MMLAB_OK) {
		iput(mr->inode);
		kfree(mr);
		return ERR_PTR(mmlab_status_to_errno(st));
	}
	mmlab_core_region_stats(mr->core, &rs);
	mr->id = rs.id;
	snprintf(name, sizeof(name), "%llu", mr->id);
	/* debugfs failures are not fatal; the file is only a view. */
	mr->faults = debugfs_create_file(name, 0400, mmdev_faults_dir, mr, &mmdev_faults_fops);

	mutex_lock(&mmdev_lock);
	list_add_tail(&mr->link, &mmdev_regions);
	mutex_unlock(&mmdev_lock);
	return mr;
}

static void mmdev_region_free(struct mmdev_region *mr)
{
	iput(mr->inode);
	kfree(mr);
}

/* Destroy in the core; false while pinned pages keep it. Under mr->sem. */
static bool mmdev_region_destroy(struct mmdev_region *mr)
{
	enum mmlab_status st;

	down_write(&mr->sem);
	st = mmlab_core_region_destroy(mr->core, mmdev_page_busy, mr);
	up_write(&mr->sem);
	return st == MMLAB_OK;
}

/* Drop one file's reference; the last one destroys the region. */
static void mmdev_region_put(struct mmdev_region *mr)
{
	mutex_lock(&mmdev_lock);
	if (--mr->files) {
		mutex_unlock(&mmdev_lock);
		return;
	}
	list_del(&mr->link);	/* and its name goes with it */
	mutex_unlock(&mmdev_lock);
	/* Waits for a reader of the file to finish. */
	debugfs_remove(mr->faults);
	mr->faults = NULL;

	if (mmdev_region_destroy(mr)) {
		mmdev_region_free(mr);
		return;
	}
	pr_info_ratelimited("mmdev: region %llu closed with pinned pages; freed when they are released\n",
		mr->id);
	/*
	 * The zombie keeps the module, as its file did: rmmod is refused
	 * until the pins go (a pipe can hold vmsplice()d pages forever).
	 * Safe here: our caller's file still holds a reference.
	 */
	__module_get(THIS_MODULE);
	mutex_lock(&mmdev_lock);
	list_add_tail(&mr->link, &mmdev_zombies);
	mutex_unlock(&mmdev_lock);
	schedule_delayed_work(&mmdev_reaper, HZ / 10);
}

/* Returns how many zombies remain. */
static unsigned int mmdev_reap(void)
{
	struct mmdev_region *mr, *tmp;
	unsigned int left = 0;
	LIST_HEAD(done);

	mutex_lock(&mmdev_lock);
	list_for_each_entry_safe(mr, tmp, &mmdev_zombies, link) {
		if (mmdev_region_destroy(mr))
			list_move(&mr->link, &done);
		else
			left++;
	}
	mutex_unlock(&mmdev_lock);
	list_for_each_entry_safe(mr, tmp, &done, link) {
		mmdev_region_free(mr);
		/*
		 * The zombie's reference. If it was the last one, an rmmod may
		 * start now; its exit's cancel_delayed_work_sync() waits for
		 * this work to return, so no code of ours runs after exit.
		 */
		module_put(THIS_MODULE);
	}
	return left;
}

static void mmdev_reap_fn(struct work_struct *work)
{
	if (mmdev_reap())
		schedule_delayed_work(&mmdev_reaper, HZ / 10);
}

/* --- file operations ------------------------------------------------------- */

/* The region a file uses from now on; it can no longer attach. */
static struct mmdev_region *mmdev_use(struct mmdev_file *mf)
{
	struct mmdev_region *mr;

	mutex_lock(&mf->lock);
	mf->used = true;
	mr = mf->region;
	mutex_unlock(&mf->lock);
	return mr;
}

/* first_mmap: only if the region has no size yet (checked under the lock). */
static int mmdev_set_size(struct mmdev_region *mr, u64 pages, bool first_mmap)
{
	enum mmlab_status st = MMLAB_OK;
	u64 old;
	int err;

	down_write(&mr->sem);
	old = mmlab_core_region_size(mr->core);
	/* Truncation zaps private copies past the end too (even_cows). */
	if (pages < old && !first_mmap)
		unmap_mapping_range(mr->inode->i_mapping, (loff_t)pages << PAGE_SHIFT, 0, 1);
	if (!first_mmap || !old)
		st = mmlab_core_region_set_size(mr->core, pages, mmdev_page_busy, mr);
	up_write(&mr->sem);
	err = mmlab_status_to_errno(st);
	if (err == -ENOMEM) {
		struct mmlab_commit_info ci;

		mmlab_core_commit_info(mmlab_core, &ci);
		pr_warn_ratelimited("mmdev: region %llu: size of %llu pages refused: overcommit_memory %u, committed %llu, commit limit %llu (mode 2), capacity %llu (mode 0), at most %llu (mode 1)\n",
				    mr->id, pages, ci.mode, ci.committed_pages,
				    ci.commit_limit_pages, ci.capacity_pages, ci.max_region_pages);
	}
	return err;
}

static int mmdev_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmdev_region *mr = mmdev_use(file->private_data);
	u64 end = (u64)vma->vm_pgoff + vma_pages(vma);
	int err;

	/* The first mmap of a region with no size sets it. */
	err = mmdev_set_size(mr, end, true);
	if (err)
		return err;
	/*
	 * No VM_PFNMAP/VM_IO (GUP must work) and no VM_DONTEXPAND (mremap may
	 * grow the mapping within the size): flags as for a shmem file.
	 */
	vma->vm_ops = &mmdev_vm_ops;
	vma->vm_private_data = mr;
	atomic_long_inc(&mr->mappings);
	return 0;
}

static int mmdev_punch(struct mmdev_region *mr, const struct mmlab_mmdev_range *r)
{
	u64 first = r->offset >> PAGE_SHIFT, nr = r->len >> PAGE_SHIFT;

	if (!r->len || !PAGE_ALIGNED(r->offset) || !PAGE_ALIGNED(r->len) ||
	    r->offset + r->len < r->offset) {
		pr_warn_ratelimited("mmdev: punch: offset %llu len %llu: want a non-empty page-aligned range\n",
				    r->offset, r->len);
		return -EINVAL;
	}
	down_write(&mr->sem);
	/* Shared mappings only: private copies are the process's (shmem does the same). */
	unmap_mapping_range(mr->inode->i_mapping, r->offset, r->len, 0);
	mmlab_core_region_punch(mr->core, first, nr, mmdev_page_busy, mr);
	up_write(&mr->sem);
	return 0;
}

/* Names as shm_open's, without the slash: [A-Za-z0-9_.-]{1,31}. */
static int mmdev_get_name(unsigned long arg, struct mmlab_mmdev_name *n)
{
	size_t len, i;

	if (copy_from_user(n, (void __user *)arg, sizeof(*n)))
		return -EFAULT;
	len = strnlen(n->name, sizeof(n->name));
	if (!len || len == sizeof(n->name))
		goto bad;
	for (i = 0; i < len; i++)
		if (!isalnum(n->name[i]) && !strchr("_.-", n->name[i]))
			goto bad;
	return 0;
bad:
	pr_warn_ratelimited("mmdev: region name must be 1-%d characters of [A-Za-z0-9_.-]\n",
			    MMLAB_REGION_NAME_MAX - 1);
	return -EINVAL;
}

static struct mmdev_region *mmdev_find_locked(const char *name)
{
	struct mmdev_region *mr;

	lockdep_assert_held(&mmdev_lock);
	list_for_each_entry(mr, &mmdev_regions, link)
		if (!strcmp(mr->name, name))
			return mr;
	return NULL;
}

/* n: already copied in (no user access under mf->lock: mmap takes it under mmap_lock). */
static int mmdev_name(struct mmdev_region *mr, const struct mmlab_mmdev_name *name)
{
	struct mmlab_mmdev_name n = *name;
	int err = 0;

	mutex_lock(&mmdev_lock);
	if (mr->name[0]) {
		err = -EINVAL;
		pr_warn_ratelimited("mmdev: region %llu is already named '%s'\n", mr->id, mr->name);
	} else if (mmdev_find_locked(n.name)) {
		err = -EEXIST;
	} else {
		strscpy(mr->name, n.name, sizeof(mr->name));
	}
	mutex_unlock(&mmdev_lock);
	return err;
}

static int mmdev_attach(struct file *file, unsigned long arg)
{
	struct mmdev_file *mf = file->private_data;
	struct mmdev_region *target, *old;
	struct mmlab_mmdev_name n;
	int err = mmdev_get_name(arg, &n);

	if (err)
		return err;
	mutex_lock(&mf->lock);
	if (mf->used) {
		mutex_unlock(&mf->lock);
		pr_warn_ratelimited("mmdev: attach: this file was already sized, mapped, named or attached; open a new one\n");
		return -EBUSY;
	}
	mutex_lock(&mmdev_lock);
	target = mmdev_find_locked(n.name);
	if (target)
		target->files++;
	mutex_unlock(&mmdev_lock);
	if (!target) {
		mutex_unlock(&mf->lock);
		return -ENOENT;
	}
	old = mf->region;
	mf->region = target;
	file->f_mapping = target->inode->i_mapping;
	mf->used = true;
	mutex_unlock(&mf->lock);
	mmdev_region_put(old);
	return 0;
}

static long mmdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmdev_file *mf = file->private_data;
	struct mmlab_mmdev_range range;
	struct mmlab_mmdev_name name;
	struct mmlab_region_stats rs;
	struct mmlab_mmdev_stats us;
	struct mmdev_region *mr;
	u64 bytes;
	u32 zone;
	int err;

	switch (cmd) {
	case MMLAB_IOC_SET_SIZE:
		if (copy_from_user(&bytes, (void __user *)arg, sizeof(bytes)))
			return -EFAULT;
		if (bytes > U64_MAX - PAGE_SIZE) {
			pr_warn_ratelimited("mmdev: set size: %llu bytes is beyond any size\n", bytes);
			return -EINVAL;
		}
		return mmdev_set_size(mmdev_use(mf), DIV_ROUND_UP(bytes, PAGE_SIZE), false);
	case MMLAB_IOC_STATS:
		mutex_lock(&mf->lock);
		mr = mf->region;
		mmlab_core_region_stats(mr->core, &rs);
		us = (struct mmlab_mmdev_stats){
			.id = rs.id,
			.size_pages = rs.size_pages,
			.resident_pages = rs.resident_pages,
			.busy_pages = rs.busy_pages,
			.committed_pages = rs.committed_pages,
			.faults = rs.faults,
			.alloc_faults = rs.alloc_faults,
			.fault_failures = rs.fault_failures,
			.mappings = atomic_long_read(&mr->mappings),
		};
		mutex_lock(&mmdev_lock);
		us.files = mr->files;
		mutex_unlock(&mmdev_lock);
		mutex_unlock(&mf->lock);
		return copy_to_user((void __user *)arg, &us, sizeof(us)) ? -EFAULT : 0;
	case MMLAB_IOC_NAME:
		/* A refused name leaves the file free to ATTACH (create-or-attach). */
		err = mmdev_get_name(arg, &name);
		if (err)
			return err;
		mutex_lock(&mf->lock);
		err = mmdev_name(mf->region, &name);
		if (!err)
			mf->used = true;
		mutex_unlock(&mf->lock);
		return err;
	case MMLAB_IOC_ATTACH:
		return mmdev_attach(file, arg);
	case MMLAB_IOC_SET_ZONE:
		if (copy_from_user(&zone, (void __user *)arg, sizeof(zone)))
			return -EFAULT;
		/* The uapi numbers are the core's enum mmlab_zone_type (checked below). */
		if (zone > MMLAB_MMDEV_ZONE_NORMAL) {
			pr_warn_ratelimited("mmdev: zone %u: want %u (DMA32) or %u (Normal)\n", zone,
					    MMLAB_MMDEV_ZONE_DMA32, MMLAB_MMDEV_ZONE_NORMAL);
			return -EINVAL;
		}
		return mmlab_status_to_errno(mmlab_core_region_set_zone(mmdev_use(mf)->core, zone));
	case MMLAB_IOC_PUNCH:
		if (copy_from_user(&range, (void __user *)arg, sizeof(range)))
			return -EFAULT;
		return mmdev_punch(mmdev_use(mf), &range);
	}
	return -ENOTTY;
}

static int mmdev_open(struct inode *inode, struct file *file)
{
	struct mmdev_file *mf;
	struct mmdev_region *mr;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;
	mr = mmdev_region_new();
	if (IS_ERR(mr)) {
		kfree(mf);
		return PTR_ERR(mr);
	}
	mutex_init(&mf->lock);
	mf->region = mr;
	file->private_data = mf;
	/* Before any mmap: VMAs are linked into file->f_mapping's i_mmap. */
	file->f_mapping = mr->inode->i_mapping;
	return 0;
}

/* No VMA outlives its file: nothing of this file maps the region now. */
static int mmdev_release(struct inode *inode, struct file *file)
{
	struct mmdev_file *mf = file->private_data;

	mmdev_region_put(mf->region);
	mutex_destroy(&mf->lock);
	kfree(mf);
	return 0;
}

static const struct file_operations mmdev_fops = {
	.owner = THIS_MODULE,
	.open = mmdev_open,
	.release = mmdev_release,
	.mmap = mmdev_mmap,
	.fsync = noop_fsync,	/* msync(MS_SYNC): nothing to write back, as for shmem */
	.unlocked_ioctl = mmdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice mmdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &mmdev_fops,
	.mode = 0600,
};

/* --- debugfs: regions, overcommit_memory, overcommit_ratio ------------------ */

static int mmdev_regions_show(struct seq_file *m, void *v)
{
	struct mmlab_region_owner owner;
	struct mmdev_region *mr;

	mmlab_core_region_render_header(mmlab_seq_emit, m);
	mutex_lock(&mmdev_lock);
	list_for_each_entry(mr, &mmdev_regions, link) {
		owner = (struct mmlab_region_owner){
			.pid = mr->pid,
			.name = mr->name,
			.mappings = atomic_long_read(&mr->mappings),
			.files = mr->files,
		};
		mmlab_core_region_render(mr->core, &owner, mmlab_seq_emit, m);
	}
	mutex_unlock(&mmdev_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mmdev_regions);

/* private_data: 0 = overcommit_memory, 1 = overcommit_ratio. */
static ssize_t mmdev_overcommit_read(struct file *file, char __user *buf, size_t count,
				     loff_t *ppos)
{
	struct mmlab_commit_info info;
	char text[16];
	int len;

	mmlab_core_commit_info(mmlab_core, &info);
	len = scnprintf(text, sizeof(text), "%u\n", file->private_data ? info.ratio : info.mode);
	return simple_read_from_buffer(buf, count, ppos, text, len);
}

static ssize_t mmdev_overcommit_write(struct file *file, const char __user *buf, size_t count,
				      loff_t *ppos)
{
	bool ratio = file->private_data;
	struct mmlab_commit_info info;
	enum mmlab_status st;
	unsigned int v;
	int err;

	err = kstrtouint_from_user(buf, count, 10, &v);
	if (err == -EFAULT)
		return err;	/* a bad buffer is not a bad number */
	if (err || v > (ratio ? 100 : MMLAB_OVERCOMMIT_NEVER)) {
		pr_warn_ratelimited("mmdev: %s takes %s\n",
				    ratio ? "overcommit_ratio" : "overcommit_memory",
				    ratio ? "a percentage 0..100" : "0 (guess), 1 (always) or 2 (never)");
		return -EINVAL;
	}
	mutex_lock(&mmdev_overcommit_lock);
	mmlab_core_commit_info(mmlab_core, &info);
	st = mmlab_core_set_overcommit(mmlab_core, ratio ? info.mode : v, ratio ? v : info.ratio);
	mutex_unlock(&mmdev_overcommit_lock);
	return st == MMLAB_OK ? count : mmlab_status_to_errno(st);
}

static int mmdev_overcommit_open(struct inode *inode, struct file *file)
{
	file->private_data = inode->i_private;
	return nonseekable_open(inode, file);
}

static const struct file_operations mmdev_overcommit_fops = {
	.owner = THIS_MODULE,
	.open = mmdev_overcommit_open,
	.read = mmdev_overcommit_read,
	.write = mmdev_overcommit_write,
	.llseek = noop_llseek,
};

/* --- module init/exit ------------------------------------------------------- */

static int mmdev_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, MMDEV_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the mount would pin the module for as long as it exists, and
 * it exists from init to exit (kern_unmount() runs before the code goes).
 */
static struct file_system_type mmdev_fs_type = {
	.name = "mmlab_mmdev",
	.init_fs_context = mmdev_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int mmlab_mmdev_init(void)
{
	struct dentry *dir = mmlab_debugfs_dir();
	int err;

	mmdev_mnt = kern_mount(&mmdev_fs_type);
	if (IS_ERR(mmdev_mnt))
		return PTR_ERR(mmdev_mnt);
	mmdev_faults_dir = debugfs_create_dir("faults", dir);
	debugfs_create_file("regions", 0400, dir, NULL, &mmdev_regions_fops);
	debugfs_create_file("overcommit_memory", 0600, dir, (void *)0, &mmdev_overcommit_fops);
	debugfs_create_file("overcommit_ratio", 0600, dir, (void *)1, &mmdev_overcommit_fops);
	err = misc_register(&mmdev_misc);
	if (err) {
		kern_unmount(mmdev_mnt);
		return err;
	}
	return 0;
}

/*
 * Runs once no file is open and no zombie region holds the module, so there
 * is nothing left to free; the work may still be returning from the
 * module_put() of the last zombie, which cancel_delayed_work_sync() waits
 * out.
 */
void mmlab_mmdev_exit(void)
{
	misc_deregister(&mmdev_misc);
	cancel_delayed_work_sync(&mmdev_reaper);
	WARN_ON(!list_empty(&mmdev_zombies) || !list_empty(&mmdev_regions));
	kern_unmount(mmdev_mnt);
}
