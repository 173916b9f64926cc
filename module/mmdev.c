// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev.c - /dev/mmlab: each open file is a region of the core (region.h);
 * user programs mmap it and get mmlab's pages on fault.
 *
 * Glue only (docs/dev-mmlab-design.md): .fault hands the core's page to the
 * generic fault code as vmf->page with a reference, so the pages are
 * ordinary refcounted pages (GUP, O_DIRECT, process_vm_readv work) and
 * MAP_PRIVATE copy-on-write is the kernel's. The region keeps each page's
 * base reference; a page goes back to the core only when that is the only
 * one left (page_ref_freeze). fops.owner pins the module while a file is
 * open, and vma->vm_file keeps the file while it is mapped, so rmmod is
 * refused (EBUSY) until the last mapping is gone.
 *
 * Lock order: mf->sem (faults read, size changes write), then the core's.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/page_ref.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "mmlab.h"
#include "mmlab/mmdev.h"

struct mmdev_file {
	struct mmlab_region *region;
	/*
	 * Taken for reading by faults and for writing by size changes, so
	 * a shrink cannot hand a page back between the core's lookup and the
	 * fault's get_page().
	 */
	struct rw_semaphore sem;
};

/*
 * The core asks before each page goes back: busy unless the region's base
 * reference is the only one (no PTE, no pin, no transient get_page). The
 * freeze makes the answer stable: nobody can take a reference meanwhile.
 */
static int mmdev_page_busy(void *ctx, u64 pfn, u64 pgoff)
{
	struct page *page = pfn_to_page(pfn);

	if (!page_ref_freeze(page, 1))
		return 1;
	/*
	 * What the generic fault and unmap code may have left set (folio_*:
	 * 6.12 has no ClearPageReferenced).
	 */
	folio_clear_referenced(page_folio(page));
	folio_clear_dirty(page_folio(page));
	page_ref_unfreeze(page, 1);
	return 0;
}

static vm_fault_t mmdev_fault(struct vm_fault *vmf)
{
	struct mmdev_file *mf = vmf->vma->vm_file->private_data;
	struct mmlab_commit_info info;
	struct mmlab_page *mp;
	enum mmlab_status st;
	struct page *page;

	down_read(&mf->sem);
	st = mmlab_core_region_fault(mf->region, vmf->pgoff, task_pid_nr(current),
				     vmf->address, &mp);
	if (st == MMLAB_OK) {
		page = pfn_to_page(mmlab_core_page_to_pfn(mmlab_core, mp));
		get_page(page);
	}
	up_read(&mf->sem);

	if (st == MMLAB_EINVAL)
		return VM_FAULT_SIGBUS;	/* beyond the size, as for a file */
	if (st != MMLAB_OK) {
		mmlab_core_commit_info(mmlab_core, &info);
		return info.mode == MMLAB_OVERCOMMIT_ALWAYS ? VM_FAULT_SIGBUS : VM_FAULT_OOM;
	}
	/* Not VM_FAULT_LOCKED: __do_fault() locks the page itself. */
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mmdev_vm_ops = {
	.fault = mmdev_fault,
};

static int mmdev_set_size(struct mmdev_file *mf, u64 pages)
{
	enum mmlab_status st;

	down_write(&mf->sem);
	st = mmlab_core_region_set_size(mf->region, pages, mmdev_page_busy, NULL);
	up_write(&mf->sem);
	return mmlab_status_to_errno(st);
}

static int mmdev_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmdev_file *mf = file->private_data;
	u64 end = (u64)vma->vm_pgoff + vma_pages(vma);
	int err;

	/* The first mmap of a region with no size sets it. */
	if (!mmlab_core_region_size(mf->region)) {
		err = mmdev_set_size(mf, end);
		if (err)
			return err;
	}
	vma->vm_ops = &mmdev_vm_ops;
	return 0;
}

static long mmdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmdev_file *mf = file->private_data;
	struct mmlab_region_stats rs;
	struct mmlab_mmdev_stats us;
	u64 bytes;

	switch (cmd) {
	case MMLAB_IOC_SET_SIZE:
		if (copy_from_user(&bytes, (void __user *)arg, sizeof(bytes)))
			return -EFAULT;
		if (bytes > U64_MAX - PAGE_SIZE)
			return -EINVAL;
		return mmdev_set_size(mf, DIV_ROUND_UP(bytes, PAGE_SIZE));
	case MMLAB_IOC_STATS:
		mmlab_core_region_stats(mf->region, &rs);
		us = (struct mmlab_mmdev_stats){
			.id = rs.id,
			.size_pages = rs.size_pages,
			.resident_pages = rs.resident_pages,
			.busy_pages = rs.busy_pages,
			.committed_pages = rs.committed_pages,
			.faults = rs.faults,
			.alloc_faults = rs.alloc_faults,
			.fault_failures = rs.fault_failures,
		};
		return copy_to_user((void __user *)arg, &us, sizeof(us)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static int mmdev_open(struct inode *inode, struct file *file)
{
	struct mmdev_file *mf;
	enum mmlab_status st;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;
	init_rwsem(&mf->sem);
	st = mmlab_core_region_create(mmlab_core, MMLAB_ZONE_NORMAL, &mf->region);
	if (st != MMLAB_OK) {
		kfree(mf);
		return mmlab_status_to_errno(st);
	}
	file->private_data = mf;
	return 0;
}

/*
 * No VMA outlives its file, so nothing maps the pages now; a page still
 * pinned (an O_DIRECT that has not completed) keeps the region, and the
 * module, until a later retry lets it go.
 */
static void mmdev_reap_fn(struct work_struct *work);

struct mmdev_zombie {
	struct delayed_work work;
	struct mmlab_region *region;
};

static void mmdev_reap_fn(struct work_struct *work)
{
	struct mmdev_zombie *z = container_of(to_delayed_work(work), struct mmdev_zombie, work);

	if (mmlab_core_region_destroy(z->region, mmdev_page_busy, NULL) == MMLAB_EBUSY) {
		schedule_delayed_work(&z->work, HZ / 10);
		return;
	}
	kfree(z);
	module_put(THIS_MODULE);
}

static int mmdev_release(struct inode *inode, struct file *file)
{
	struct mmdev_file *mf = file->private_data;
	struct mmdev_zombie *z;

	if (mmlab_core_region_destroy(mf->region, mmdev_page_busy, NULL) == MMLAB_EBUSY) {
		z = kzalloc(sizeof(*z), GFP_KERNEL | __GFP_NOFAIL);
		z->region = mf->region;
		INIT_DELAYED_WORK(&z->work, mmdev_reap_fn);
		__module_get(THIS_MODULE);
		pr_info("mmdev: region still has pinned pages, retrying\n");
		schedule_delayed_work(&z->work, HZ / 10);
	}
	kfree(mf);
	return 0;
}

static const struct file_operations mmdev_fops = {
	.owner = THIS_MODULE,
	.open = mmdev_open,
	.release = mmdev_release,
	.mmap = mmdev_mmap,
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

int mmlab_mmdev_init(void)
{
	return misc_register(&mmdev_misc);
}

void mmlab_mmdev_exit(void)
{
	misc_deregister(&mmdev_misc);
}
