// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_views - what debugfs shows of /dev/mmlab regions: `regions` (one
 * line per live region, the same numbers as MMLAB_IOC_STATS, the opener's
 * pid, the name) and `faults/<id>` (a bounded ring of the region's faults:
 * pid, user address, page offset, pfn in the zone it names, order 0,
 * whether the fault took a new page), both root-only (0400) and gone with
 * the region.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

static int file_mode(const char *name)
{
	char path[512];
	struct stat st;

	mmlab_path(path, sizeof(path), name);
	if (stat(path, &st))
		return -errno;
	return st.st_mode & 07777;
}

static int rec_in_zone(const struct mmdev_fault_rec *r)
{
	if (!strcmp(r->zone, "DMA32"))
		return r->pfn < MMLAB_PFN_4G;
	if (!strcmp(r->zone, "Normal"))
		return r->pfn >= MMLAB_PFN_4G;
	return 0;
}

TEST_F(mmdev, regions_view)
{
	struct mmdev_region_row row;
	struct mmlab_mmdev_stats s;
	unsigned int rows0, rows;
	char name[32];
	unsigned char *p;
	int fd, fd2;

	EXPECT_EQ(0400, file_mode("regions"));
	ASSERT_LE(0, mmdev_regions_find(0, NULL, &rows0, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(mmdev_stat("regions"), rows0);

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 32 * PAGE));
	p = mmap(NULL, 32 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = p[PAGE] = p[5 * PAGE] = 1;
	(void)*(volatile unsigned char *)(p + 7 * PAGE);
	ASSERT_EQ(0, madvise(p, PAGE, MADV_DONTNEED));
	p[0] = 2;	/* a fault that allocates nothing */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	ASSERT_EQ(1, mmdev_regions_find(s.id, &row, &rows, self->why, sizeof(self->why)))
		TH_LOG("region %llu not listed: %s", (unsigned long long)s.id, self->why);
	EXPECT_EQ(rows0 + 1, rows);
	EXPECT_EQ(getpid(), row.pid);
	EXPECT_STREQ("-", row.name);
	EXPECT_EQ(32, row.size);
	EXPECT_EQ(4, row.resident);
	EXPECT_EQ(0, row.busy);
	EXPECT_EQ(32, row.committed);
	EXPECT_EQ(1, row.mappings);
	EXPECT_EQ(1, row.files);
	EXPECT_EQ(s.faults, row.faults);
	EXPECT_EQ(5, row.faults);
	EXPECT_EQ(4, row.alloc_faults);
	EXPECT_EQ(0, row.fault_failures);

	snprintf(name, sizeof(name), "view.%d", getpid());
	ASSERT_EQ(0, mmdev_name(fd, name));
	fd2 = mmdev_open();
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mmdev_attach(fd2, name));
	ASSERT_EQ(1, mmdev_regions_find(s.id, &row, &rows, self->why, sizeof(self->why)));
	EXPECT_STREQ(name, row.name);
	EXPECT_EQ(2, row.files);
	EXPECT_EQ(rows0 + 1, rows) TH_LOG("attach listed the attacher's own region");

	close(fd);
	close(fd2);
	ASSERT_EQ(1, mmdev_regions_find(s.id, &row, NULL, self->why, sizeof(self->why)))
		TH_LOG("the mapping keeps the region");
	EXPECT_EQ(1, row.files) TH_LOG("the mapping keeps the opener's file, the attacher's is gone");
	munmap(p, 32 * PAGE);
	EXPECT_EQ(0, mmdev_regions_find(s.id, &row, &rows, self->why, sizeof(self->why)))
		TH_LOG("a closed region is still listed");
	EXPECT_EQ(rows0, rows);
}

TEST_F(mmdev, fault_log_records)
{
	struct mmdev_fault_rec *r;
	struct mmlab_mmdev_stats s;
	unsigned char *p, *q;
	char name[64];
	int fd, n, i;

	r = calloc(MMDEV_LOG_MAX, sizeof(*r));
	ASSERT_NE(NULL, r);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	snprintf(name, sizeof(name), "faults/%llu", (unsigned long long)s.id);
	EXPECT_EQ(0400, file_mode(name));
	n = mmdev_fault_log(s.id, r, self->why, sizeof(self->why));
	EXPECT_EQ(0, n) TH_LOG("%s", self->why);

	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 6 * PAGE);
	ASSERT_NE(MAP_FAILED, q);
	/* volatile: the faults must come in this order */
	((volatile unsigned char *)p)[3 * PAGE + 123] = 1;
	((volatile unsigned char *)p)[0] = 1;
	((volatile unsigned char *)p)[5 * PAGE + 4095] = 1;
	ASSERT_EQ(0, madvise(p + 3 * PAGE, PAGE, MADV_DONTNEED));
	(void)*(volatile unsigned char *)(p + 3 * PAGE + 9);
	(void)*(volatile unsigned char *)(q + PAGE + 1);	/* page 7 */

	ASSERT_EQ(0, mmdev_stats(fd, &s));
	n = mmdev_fault_log(s.id, r, self->why, sizeof(self->why));
	ASSERT_EQ(5, n) TH_LOG("%s", self->why);
	EXPECT_EQ(5, s.faults);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(getpid(), r[i].pid);
		EXPECT_EQ(0, r[i].order);
		EXPECT_NE(0, r[i].pfn);
		EXPECT_TRUE(rec_in_zone(&r[i])) TH_LOG("record %d: pfn 0x%llx in zone %s", i,
						       (unsigned long long)r[i].pfn, r[i].zone);
		if (i)
			EXPECT_EQ(r[i - 1].seq + 1, r[i].seq);
	}
	EXPECT_EQ(s.faults, r[n - 1].seq) TH_LOG("the newest record is the last fault");
	EXPECT_EQ(3, r[0].pgoff);
	EXPECT_EQ((uintptr_t)(p + 3 * PAGE), r[0].address) TH_LOG("the page-aligned user address");
	EXPECT_EQ(1, r[0].alloc);
	EXPECT_EQ(0, r[1].pgoff);
	EXPECT_EQ((uintptr_t)p, r[1].address);
	EXPECT_EQ(5, r[2].pgoff);
	EXPECT_EQ((uintptr_t)(p + 5 * PAGE), r[2].address);
	EXPECT_NE(r[0].pfn, r[1].pfn);
	EXPECT_EQ(3, r[3].pgoff) TH_LOG("the refault after DONTNEED");
	EXPECT_EQ(0, r[3].alloc);
	EXPECT_EQ(r[0].pfn, r[3].pfn) TH_LOG("the refault got another page");
	EXPECT_EQ(7, r[4].pgoff) TH_LOG("a mapping at an offset");
	EXPECT_EQ((uintptr_t)(q + PAGE), r[4].address);
	EXPECT_EQ(1, r[4].alloc);
	munmap(p, 8 * PAGE);
	munmap(q, 2 * PAGE);
	close(fd);
	EXPECT_EQ(-ENOENT, file_mode(name)) TH_LOG("faults/<id> outlived its region");
	free(r);
}

static int set_zone(int fd, uint32_t zone)
{
	return ioctl(fd, MMLAB_IOC_SET_ZONE, &zone);
}

/*
 * The region's zone policy, seen in the fault log: by default pages come
 * from Normal (above 4 GiB: the guest has memory there), after
 * SET_ZONE(DMA32) from DMA32 (below 4 GiB); pages already resident stay.
 */
TEST_F(mmdev, zone_policy_in_the_fault_log)
{
	const size_t n = 16;
	struct mmdev_fault_rec *r;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd, got, i;

	ASSERT_TRUE(mmlab_host_has_normal()) TH_LOG("the guest has no ZONE_NORMAL");
	r = calloc(MMDEV_LOG_MAX, sizeof(*r));
	ASSERT_NE(NULL, r);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, set_zone(fd, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, MMLAB_IOC_SET_ZONE, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	p = mmap(NULL, 2 * n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 51);
	ASSERT_EQ(0, set_zone(fd, MMLAB_MMDEV_ZONE_DMA32)) TH_LOG("%s", strerror(errno));
	mmdev_fill(p + n * PAGE, n, 52);
	EXPECT_EQ(n, mmdev_check(p, n, 51));	/* refaults of the Normal pages */
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	got = mmdev_fault_log(s.id, r, self->why, sizeof(self->why));
	ASSERT_EQ((int)(2 * n), got) TH_LOG("%s", self->why);
	for (i = 0; i < got; i++) {
		const char *want = r[i].pgoff < n ? "Normal" : "DMA32";

		EXPECT_STREQ(want, r[i].zone) TH_LOG("page %llu", (unsigned long long)r[i].pgoff);
		EXPECT_TRUE(rec_in_zone(&r[i])) TH_LOG("pfn 0x%llx not in %s",
						       (unsigned long long)r[i].pfn, r[i].zone);
	}
	ASSERT_EQ(0, set_zone(fd, MMLAB_MMDEV_ZONE_NORMAL));
	munmap(p, 2 * n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	free(r);
}

/* The ring keeps the newest 256 records, oldest first. */
TEST_F(mmdev, fault_log_is_a_bounded_ring)
{
	const size_t n = 300;
	struct mmdev_fault_rec *r;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd, got, i;

	r = calloc(MMDEV_LOG_MAX, sizeof(*r));
	ASSERT_NE(NULL, r);
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, n, 50);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.faults);
	got = mmdev_fault_log(s.id, r, self->why, sizeof(self->why));
	ASSERT_EQ(MMDEV_LOG_MAX, got) TH_LOG("%s", self->why);
	EXPECT_EQ(s.faults - MMDEV_LOG_MAX + 1, r[0].seq);
	EXPECT_EQ(s.faults, r[got - 1].seq);
	for (i = 0; i < got; i++) {
		EXPECT_EQ(n - MMDEV_LOG_MAX + i, r[i].pgoff);
		EXPECT_EQ((uintptr_t)(p + r[i].pgoff * PAGE), r[i].address);
		EXPECT_EQ(1, r[i].alloc);
		if (i)
			ASSERT_EQ(r[i - 1].seq + 1, r[i].seq);
	}
	munmap(p, n * PAGE);
	close(fd);
	free(r);
}

TEST_HARNESS_MAIN
