// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev - /dev/mmlab (docs/dev-mmlab-design.md): a mapping gets mmlab's
 * pages on first touch only, the same page on refault, zeroed; SIGBUS past
 * the size; every page back (and then back to the host) after close;
 * rmmod refused while a mapping exists.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "../../include/mmlab/mmdev.h"

#define PAGE	4096ul

static int region_stats(int fd, struct mmlab_mmdev_stats *s)
{
	return ioctl(fd, MMLAB_IOC_STATS, s);
}

static uint64_t stat_of(const char *key)
{
	struct mmlab_stats s;
	char why[256];
	uint64_t v = ~0ull;

	if (!mmlab_read_stats(&s, why, sizeof(why)))
		mmlab_stats_get(&s, key, &v);
	return v;
}

/* The check the issue names: 64 MiB, every other page, 8192 resident. */
TEST_F(mmlab, mmap_64m_touch_every_other_page)
{
	const size_t len = 64ul << 20;
	struct mmlab_mmdev_stats s;
	uint64_t used0 = self->st.used_pages;
	unsigned char *p;
	size_t off;
	int fd;

	fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open /dev/mmlab: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, region_stats(fd, &s));
	EXPECT_EQ(len / PAGE, s.size_pages) TH_LOG("the first mmap sets the size");
	EXPECT_EQ(0, s.resident_pages) TH_LOG("nothing is allocated at mmap");
	EXPECT_EQ(used0, stat_of("used_pages"));

	for (off = 0; off < len; off += 2 * PAGE) {
		if (p[off + 17] != 0)	/* a fresh page never shows old data */
			break;
		p[off + 17] = (unsigned char)(off / PAGE);
	}
	EXPECT_EQ(len, off) TH_LOG("page %zu was not zero", off / PAGE);
	ASSERT_EQ(0, region_stats(fd, &s));
	EXPECT_EQ(8192, s.resident_pages);
	EXPECT_EQ(8192, s.alloc_faults);
	EXPECT_EQ(used0 + 8192, stat_of("used_pages"));

	/* DONTNEED drops the mapping, not the data. */
	ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
	for (off = 0; off < len; off += 2 * PAGE)
		if (p[off + 17] != (unsigned char)(off / PAGE))
			break;
	EXPECT_EQ(len, off) TH_LOG("page %zu lost its contents", off / PAGE);
	ASSERT_EQ(0, region_stats(fd, &s));
	EXPECT_EQ(8192, s.resident_pages);
	EXPECT_EQ(8192, s.alloc_faults);

	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(used0, stat_of("used_pages")) TH_LOG("close gives every page back");
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	EXPECT_EQ(0, stat_of("host_chunks")) TH_LOG("and mmlab gives them to the host");
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

TEST_F(mmlab, sigbus_beyond_the_size)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile unsigned char *p;
	uint64_t bytes = 3 * PAGE;
	volatile int got = 0;
	int fd;

	fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MMLAB_IOC_SET_SIZE, &bytes));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	p[2 * PAGE] = 1;
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, &old));
	if (sigsetjmp(bus_jmp, 1) == 0)
		p[3 * PAGE] = 1;
	else
		got = 1;
	sigaction(SIGBUS, &old, NULL);
	EXPECT_EQ(1, got) TH_LOG("a touch past the size is SIGBUS");
	munmap((void *)p, 8 * PAGE);
	close(fd);
}

TEST_F(mmlab, rmmod_refused_while_mapped)
{
	unsigned char *p;
	int fd, ret;

	fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
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

TEST_HARNESS_MAIN
