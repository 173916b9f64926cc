// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev - /dev/mmlab basics (docs/dev-mmlab-design.md): a mapping gets
 * mmlab's pages on first touch only, the same page on refault, zeroed even
 * when the page was someone else's; the size (SET_SIZE or the first mmap)
 * and SIGBUS past it, also after a shrink; every page back (and then back
 * to the host) after close; rmmod refused while a region is open or mapped
 * and the module's refcount back to where it was afterwards.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

/* The check the issue names: 64 MiB, every other page, 8192 resident. */
TEST_F(mmdev, mmap_64m_touch_every_other_page)
{
	const size_t len = 64ul << 20;
	struct mmlab_mmdev_stats s;
	uint64_t used0 = self->used0;
	struct mmlab_buddyinfo *bi0, *bi1;
	unsigned char *p;
	size_t off;
	unsigned int z;
	int fd;

	bi0 = calloc(2, sizeof(*bi0));
	ASSERT_NE(NULL, bi0);
	bi1 = bi0 + 1;
	BUDDYINFO(bi0);
	fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open /dev/mmlab: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(len / PAGE, s.size_pages) TH_LOG("the first mmap sets the size");
	EXPECT_EQ(0, s.resident_pages) TH_LOG("nothing is allocated at mmap");
	EXPECT_EQ(used0, mmdev_used());

	for (off = 0; off < len; off += 2 * PAGE) {
		if (p[off + 17] != 0)	/* a fresh page never shows old data */
			break;
		p[off + 17] = (unsigned char)(off / PAGE);
	}
	EXPECT_EQ(len, off) TH_LOG("page %zu was not zero", off / PAGE);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8192, s.resident_pages);
	EXPECT_EQ(8192, s.alloc_faults);
	EXPECT_EQ(used0 + 8192, mmdev_used());

	/* DONTNEED drops the mapping, not the data. */
	ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
	for (off = 0; off < len; off += 2 * PAGE)
		if (p[off + 17] != (unsigned char)(off / PAGE))
			break;
	EXPECT_EQ(len, off) TH_LOG("page %zu lost its contents", off / PAGE);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8192, s.resident_pages);
	EXPECT_EQ(8192, s.alloc_faults);

	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(used0, mmdev_used()) TH_LOG("close gives every page back");
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	EXPECT_EQ(0, mmdev_stat("host_chunks")) TH_LOG("and mmlab gives them to the host");
	/* buddyinfo is back to its starting state */
	BUDDYINFO(bi1);
	ASSERT_EQ(bi0->nzones, bi1->nzones);
	for (z = 0; z < bi0->nzones; z++)
		EXPECT_EQ(0, memcmp(bi0->z[z].free, bi1->z[z].free, sizeof(bi0->z[z].free)))
			TH_LOG("buddyinfo zone %s differs from before", bi0->z[z].zone);
	free(bi0);
}

/*
 * Resident count grows by one per first touch of a page, read or write,
 * and never at mmap, at a second mmap, or at a refault.
 */
TEST_F(mmdev, lazy_allocation)
{
	const size_t n = 64;
	struct mmlab_mmdev_stats s;
	unsigned char *p, *q;
	size_t i;
	int fd, sig;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, n * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.size_pages);
	EXPECT_EQ(0, s.resident_pages);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, n * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.resident_pages) TH_LOG("mmap allocated");
	EXPECT_EQ(0, s.faults);
	EXPECT_EQ(self->used0, mmdev_used());

	for (i = 0; i < n; i++) {
		/* even pages read first, odd pages written first */
		if (i & 1)
			p[i * PAGE + 100] = 0x5a;
		else
			EXPECT_EQ(0, p[i * PAGE + 100]);
		ASSERT_EQ(0, mmdev_stats(fd, &s));
		ASSERT_EQ(i + 1, s.resident_pages) TH_LOG("after touching page %zu", i);
		ASSERT_EQ(i + 1, s.alloc_faults);
		ASSERT_EQ(self->used0 + i + 1, mmdev_used());
	}
	/* the second mapping sees the same pages: faults, but no allocation */
	for (i = 0; i < n; i++)
		ASSERT_EQ(i & 1 ? 0x5a : 0, q[i * PAGE + 100]) TH_LOG("page %zu", i);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(n, s.alloc_faults);
	EXPECT_LE(2 * n, s.faults) TH_LOG("each mapping faults each page once");
	EXPECT_EQ(0, s.fault_failures);
	EXPECT_EQ(self->used0 + n, mmdev_used());
	/* writing through a read-only mapping is SIGSEGV, and allocates nothing */
	sig = mmdev_try_write(q, 1);
	EXPECT_EQ(SIGSEGV, sig);
	EXPECT_EQ(0, q[0]);

	munmap(p, n * PAGE);
	munmap(q, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/*
 * A page that held someone's data comes back zeroed: region A fills pages
 * and goes; region B then gets (per the fault logs) some of the same pfns,
 * and reads only zeros.
 */
TEST_F(mmdev, zero_fill_of_reused_pages)
{
	const size_t n = 200;
	struct mmdev_fault_rec *la, *lb;
	struct mmlab_mmdev_stats sa, sb;
	unsigned char *p;
	int fd, na, nb, i, j, common = 0;

	la = calloc(2 * MMDEV_LOG_MAX, sizeof(*la));
	ASSERT_NE(NULL, la);
	lb = la + MMDEV_LOG_MAX;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xff, n * PAGE);
	ASSERT_EQ(0, mmdev_stats(fd, &sa));
	EXPECT_EQ(n, sa.resident_pages);
	na = mmdev_fault_log(sa.id, la, self->why, sizeof(self->why));
	ASSERT_EQ((int)n, na) TH_LOG("faults/%llu: %s", (unsigned long long)sa.id, self->why);
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(n, mmdev_check_zero(p, n)) TH_LOG("old data in a fresh page");
	ASSERT_EQ(0, mmdev_stats(fd, &sb));
	EXPECT_NE(sa.id, sb.id) TH_LOG("region ids are never reused");
	EXPECT_EQ(n, sb.resident_pages);
	nb = mmdev_fault_log(sb.id, lb, self->why, sizeof(self->why));
	ASSERT_EQ((int)n, nb) TH_LOG("faults/%llu: %s", (unsigned long long)sb.id, self->why);
	for (i = 0; i < nb; i++)
		for (j = 0; j < na; j++)
			if (lb[i].pfn == la[j].pfn)
				common++;
	/* pages freed last are reused first (per-CPU lists, LIFO) */
	EXPECT_LT(0, common) TH_LOG("no pfn reused: the test proves nothing");
	TH_LOG("%d of %zu pfns reused", common, n);
	munmap(p, n * PAGE);
	close(fd);
	free(la);
}

TEST_F(mmdev, sigbus_beyond_the_size)
{
	volatile unsigned char *p;
	struct mmlab_mmdev_stats s;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 3 * PAGE - 100));	/* rounded up: 3 pages */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(3, s.size_pages);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	EXPECT_EQ(0, mmdev_try_write(p + 2 * PAGE + PAGE - 1, 1));
	EXPECT_EQ(SIGBUS, mmdev_try_write(p + 3 * PAGE, 1)) TH_LOG("a touch past the size is SIGBUS");
	EXPECT_EQ(SIGBUS, mmdev_try_read(p + 7 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.resident_pages);
	EXPECT_EQ(self->used0 + 1, mmdev_used()) TH_LOG("SIGBUS allocates nothing");
	EXPECT_EQ(0, s.fault_failures) TH_LOG("past the size is not a failed allocation");
	munmap((void *)p, 8 * PAGE);

	/* a mapping at an offset: the offset counts */
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, (void *)p);
	EXPECT_EQ(1, p[PAGE - 1]) TH_LOG("offset 2 pages is page 2");
	EXPECT_EQ(SIGBUS, mmdev_try_read(p + PAGE));
	munmap((void *)p, 2 * PAGE);
	close(fd);
}

/* The first mmap sets the size to its end (offset + length), later ones do not. */
TEST_F(mmdev, first_mmap_sets_the_size)
{
	struct mmlab_mmdev_stats s;
	volatile unsigned char *p, *q;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(0, s.size_pages);
	EXPECT_EQ(0, s.committed_pages);
	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, (void *)p);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(5, s.size_pages);
	EXPECT_EQ(5, s.committed_pages);
	q = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)q);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(5, s.size_pages) TH_LOG("a second mmap does not grow the region");
	EXPECT_EQ(0, mmdev_try_write(q + 4 * PAGE, 9));
	EXPECT_EQ(9, p[2 * PAGE]) TH_LOG("both mappings see page 4");
	EXPECT_EQ(SIGBUS, mmdev_try_write(q + 5 * PAGE, 1));
	/* SET_SIZE after mmap still works */
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	EXPECT_EQ(0, mmdev_try_write(q + 7 * PAGE, 1));
	munmap((void *)p, 3 * PAGE);
	munmap((void *)q, 8 * PAGE);
	close(fd);
}

/*
 * Shrinking unmaps and frees the pages past the new end (SIGBUS there, even
 * where the page was mapped); growing again gives fresh zeroed pages.
 */
TEST_F(mmdev, shrink_frees_and_unmaps)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p, *pr;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 8, 1);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(8, s.resident_pages);
	EXPECT_EQ(self->used0 + 8, mmdev_used());

	ASSERT_EQ(0, mmdev_set_size(fd, 4 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(4, s.size_pages);
	EXPECT_EQ(4, s.resident_pages);
	EXPECT_EQ(4, s.committed_pages);
	EXPECT_EQ(0, s.busy_pages) TH_LOG("the shrink must unmap before it frees");
	EXPECT_EQ(self->used0 + 4, mmdev_used());
	EXPECT_EQ(SIGBUS, mmdev_try_read(p + 5 * PAGE)) TH_LOG("page 5 still mapped after the shrink");
	EXPECT_EQ(SIGBUS, mmdev_try_write(p + 4 * PAGE, 1));
	EXPECT_EQ(4, mmdev_check(p, 4, 1)) TH_LOG("the pages below the end keep their data");

	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	EXPECT_EQ(4, mmdev_check_zero(p + 4 * PAGE, 4)) TH_LOG("grown again: zeros");
	/* a private copy past the new end goes too, as on truncate */
	pr = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, pr);
	pr[6 * PAGE] = 0x66;
	ASSERT_EQ(0, mmdev_set_size(fd, 6 * PAGE));
	EXPECT_EQ(SIGBUS, mmdev_try_read(pr + 6 * PAGE)) TH_LOG("a private copy survived the shrink");
	EXPECT_EQ(0, mmdev_try_read(pr + 5 * PAGE));
	munmap(pr, 8 * PAGE);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(6, s.resident_pages);
	EXPECT_EQ(12, s.alloc_faults) TH_LOG("8, then 4 after the regrowth");
	munmap(p, 8 * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/* The device node: a misc device, 0600, root's. Unknown ioctls: ENOTTY. */
TEST_F(mmdev, device_node_and_bad_ioctls)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(MMDEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(10, major(st.st_rdev)) TH_LOG("misc devices have major 10");

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, _IO('M', 99)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, MMLAB_IOC_STATS, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, MMLAB_IOC_SET_SIZE, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

/* rmmod is refused while a region is open, or only mapped. */
TEST_F(mmdev, rmmod_refused_while_mapped)
{
	unsigned char *p;
	int fd, ret;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ret = syscall(SYS_delete_module, "mmlab", O_NONBLOCK);
	EXPECT_EQ(-1, ret) TH_LOG("mmlab unloaded with a region open");
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("delete_module: %s", strerror(errno));
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	close(fd);	/* the mapping alone keeps the module */
	ret = syscall(SYS_delete_module, "mmlab", O_NONBLOCK);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_EQ(1, p[0]);
	munmap(p, PAGE);
}

/*
 * ... and accepted after: each open file holds one module reference, a
 * mapping keeps its file (so the reference) after close, and the count is
 * back at its baseline once the last mapping goes, so the suite's final
 * rmmod can succeed (run-in-vm.sh does it, and checks every page returned).
 */
TEST_F(mmdev, module_refcount_back_after_unmap)
{
	long base = self->refcnt;
	unsigned char *p, *q;
	int fd, fd2;

	ASSERT_LE(0, base) TH_LOG("/sys/module/mmlab/refcnt unreadable");
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(base + 1, mmdev_module_refcnt());
	fd2 = mmdev_open();
	ASSERT_LE(0, fd2);
	EXPECT_EQ(base + 2, mmdev_module_refcnt());
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd2, 0);
	ASSERT_NE(MAP_FAILED, q);
	p[0] = q[0] = 1;
	close(fd);
	close(fd2);
	EXPECT_EQ(base + 2, mmdev_module_refcnt()) TH_LOG("the mappings keep their files");
	EXPECT_EQ(self->used0 + 2, mmdev_used());
	munmap(p, 4 * PAGE);
	EXPECT_EQ(base + 1, mmdev_module_refcnt());
	munmap(q, 4 * PAGE);
	EXPECT_EQ(base, mmdev_module_refcnt()) TH_LOG("a reference leaked");
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
}

TEST_HARNESS_MAIN
