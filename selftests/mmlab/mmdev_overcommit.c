// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_overcommit - vm.overcommit_memory for /dev/mmlab regions
 * (debugfs overcommit_memory, overcommit_ratio; stats committed_pages and
 * commit_limit_pages): sizes are committed when set, in every mode; mode 0
 * refuses only a size larger than the whole capacity, mode 1 refuses
 * nothing, mode 2 refuses (ENOMEM) growth past capacity * ratio / 100 and
 * then never fails a fault of the committed size. A fault that finds no
 * page is SIGBUS in every mode (never a hang, never the OOM killer).
 * The fixture puts mode 0 / ratio 50 back around every test.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

TEST_F(mmdev, overcommit_files)
{
	uint64_t v, cap = self->st.capacity_pages;
	static const unsigned int ratios[] = { 0, 25, 50, 100 };
	unsigned int i;

	ASSERT_EQ(0, mmdev_debugfs_num("overcommit_memory", &v)) TH_LOG("not \"N\\n\"");
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, mmdev_debugfs_num("overcommit_ratio", &v));
	EXPECT_EQ(50, v);
	EXPECT_EQ(0, mmdev_stat("overcommit_memory"));
	EXPECT_EQ(50, mmdev_stat("overcommit_ratio"));
	EXPECT_EQ(cap * 50 / 100, mmdev_stat("commit_limit_pages"));

	for (i = 1; i <= 2; i++) {
		EXPECT_EQ(0, mmdev_set_overcommit(i));
		ASSERT_EQ(0, mmdev_debugfs_num("overcommit_memory", &v));
		EXPECT_EQ(i, v);
		EXPECT_EQ(i, mmdev_stat("overcommit_memory"));
	}
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_memory", "3\n"));
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_memory", "-1\n"));
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_memory", "one\n"));
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_memory", "18446744073709551616\n"));
	ASSERT_EQ(0, mmdev_debugfs_num("overcommit_memory", &v));
	EXPECT_EQ(2, v) TH_LOG("a refused write changed the mode");
	EXPECT_EQ(0, mmdev_debugfs_write("overcommit_memory", "0"));
	EXPECT_EQ(0, mmdev_stat("overcommit_memory"));

	for (i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		EXPECT_EQ(0, mmdev_set_ratio(ratios[i]));
		ASSERT_EQ(0, mmdev_debugfs_num("overcommit_ratio", &v));
		EXPECT_EQ(ratios[i], v);
		EXPECT_EQ(ratios[i], mmdev_stat("overcommit_ratio"));
		EXPECT_EQ(cap * ratios[i] / 100, mmdev_stat("commit_limit_pages"))
			TH_LOG("ratio %u", ratios[i]);
	}
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_ratio", "101\n"));
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_ratio", "-5\n"));
	EXPECT_EQ(-EINVAL, mmdev_debugfs_write("overcommit_ratio", "half\n"));
	EXPECT_EQ(100, mmdev_stat("overcommit_ratio"));
}

/* Sizes are committed when set, uncommitted by shrink and close. */
TEST_F(mmdev, commit_accounting)
{
	uint64_t c0 = self->committed0;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int a, b;

	a = mmdev_open();
	b = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(c0, mmdev_stat("committed_pages")) TH_LOG("open commits nothing");
	ASSERT_EQ(0, mmdev_set_size(a, 100 * PAGE));
	EXPECT_EQ(c0 + 100, mmdev_stat("committed_pages"));
	ASSERT_EQ(0, mmdev_stats(a, &s));
	EXPECT_EQ(100, s.committed_pages);
	p = mmap(NULL, 50 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(c0 + 150, mmdev_stat("committed_pages")) TH_LOG("the first mmap commits");
	p[0] = 1;
	EXPECT_EQ(c0 + 150, mmdev_stat("committed_pages")) TH_LOG("faults commit nothing more");
	ASSERT_EQ(0, mmdev_set_size(a, 40 * PAGE));
	EXPECT_EQ(c0 + 90, mmdev_stat("committed_pages"));
	ASSERT_EQ(0, mmdev_stats(a, &s));
	EXPECT_EQ(40, s.committed_pages);
	close(a);
	EXPECT_EQ(c0 + 50, mmdev_stat("committed_pages"));
	close(b);
	EXPECT_EQ(c0 + 50, mmdev_stat("committed_pages")) TH_LOG("still mapped");
	munmap(p, 50 * PAGE);
	EXPECT_EQ(c0, mmdev_stat("committed_pages"));
}

TEST_F(mmdev, mode0_refuses_only_impossible_sizes)
{
	uint64_t cap = self->st.capacity_pages, c0 = self->committed0;
	void *p;
	int a, b;

	a = mmdev_open();
	b = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(-1, mmdev_set_size(a, (cap + 1) * PAGE));
	EXPECT_EQ(ENOMEM, errno) TH_LOG("more than the capacity");
	EXPECT_EQ(-1, mmdev_set_size(a, 1ull << 50));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(c0, mmdev_stat("committed_pages")) TH_LOG("a refused size stays committed");
	EXPECT_EQ(0, mmdev_set_size(a, cap * PAGE)) TH_LOG("the whole capacity: %s", strerror(errno));
	EXPECT_EQ(0, mmdev_set_size(b, cap * PAGE)) TH_LOG("each region on its own: %s",
							    strerror(errno));
	EXPECT_EQ(c0 + 2 * cap, mmdev_stat("committed_pages")) TH_LOG("tracked past the limit");
	close(b);
	b = mmdev_open();
	ASSERT_LE(0, b);
	p = mmap(NULL, (cap + 1) * PAGE, PROT_READ, MAP_SHARED, b, 0);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("a first mmap past the capacity");
	EXPECT_EQ(ENOMEM, errno);
	close(a);
	close(b);
	EXPECT_EQ(c0, mmdev_stat("committed_pages"));
}

struct storm_result {
	size_t touched;
	int sig;
	uint64_t avail;		/* capacity minus used pages before the touching */
};

/*
 * Take all but `room` pages of the capacity with the pressure pool, then
 * touch up to `npages` pages of a region of `size` pages in a child. The
 * child reports how far it got and the signal that stopped it; an alarm
 * turns a hang (a fault retried forever) into a kill. Returns the child's
 * wait status; the region stays open in fd for the caller.
 */
static int touch_until_failure(int ctl, int fd, uint64_t cap, uint64_t room, size_t npages,
			       struct storm_result *res, char *out, size_t outcap)
{
	int pfd[2], st = -1;
	pid_t pid;
	int ret;

	uint64_t used;
	unsigned int round;

	/* kswapd may still be borrowing after a NORETRY request gave up: again */
	for (round = 0; round < 5; round++) {
		used = mmdev_used();
		if (used + room >= cap)
			break;
		ret = mmlab_ctl(ctl, out, outcap,
				"pressure consume=%" PRIu64 " gfp=GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY",
				cap - room - used);
		if (ret && ret != -ENOMEM)
			return -1000 + ret;
		mmlab_settle();
	}
	res->avail = cap - mmdev_used();
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct storm_result r = *res;
		unsigned char *p;

		alarm(100);
		p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(1);
		r.touched = mmdev_touch(p, npages, 1, 1, 0x11, &r.sig);
		_exit(write(pfd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 2);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0);
	if (read(pfd[0], res, sizeof(*res)) != sizeof(*res))
		res->sig = -1;
	close(pfd[0]);
	return st;
}

static void check_failed_fault(struct __test_metadata *_metadata, int ctl, int fd, int st,
			       const struct storm_result *r, size_t npages, uint64_t room,
			       char *out, size_t outcap)
{
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int sig;

	ASSERT_LE(0, st) TH_LOG("setup failed (%d): %s", st, out);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d (9 = OOM killer or alarm hang)",
					  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ASSERT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(SIGBUS, r->sig) TH_LOG("touched %zu of %zu pages, signal %d", r->touched,
					 npages, r->sig);
	EXPECT_LT(r->touched, npages);
	EXPECT_GE(r->avail, r->touched) TH_LOG("more pages than the capacity had left");
	ASSERT_GT(npages, r->avail) TH_LOG("the pressure pool left %llu pages: nothing to prove",
					  (unsigned long long)r->avail);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_LE(1, s.fault_failures);
	EXPECT_EQ(r->touched, s.resident_pages) TH_LOG("the failed fault left a page");
	/* memory back: the same page faults in */
	ASSERT_EQ(0, mmlab_ctl(ctl, out, outcap, "pressure release=all")) TH_LOG("%s", out);
	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	sig = mmdev_try_write(p + r->touched * PAGE, 1);
	EXPECT_EQ(0, sig) TH_LOG("page %zu still fails with memory available", r->touched);
	EXPECT_EQ(0x11, p[0]);
	munmap(p, npages * PAGE);
}

TEST_F_TIMEOUT(mmdev, mode0_failed_fault_is_sigbus, 240)
{
	const size_t npages = 8192;
	const uint64_t room = 1024;
	struct storm_result r;
	int fd, st;

	ASSERT_EQ(0, mmdev_set_overcommit(0));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, npages * PAGE));
	st = touch_until_failure(self->fd, fd, self->st.capacity_pages, room, npages, &r,
				 self->res, sizeof(self->res));
	check_failed_fault(_metadata, self->fd, fd, st, &r, npages, room, self->res,
			   sizeof(self->res));
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

/* Mode 1: any size; touching more than there is gives SIGBUS. */
TEST_F_TIMEOUT(mmdev, mode1_any_size_then_sigbus, 240)
{
	const uint64_t cap = self->st.capacity_pages, room = 1024;
	const size_t npages = 8192;
	struct storm_result r;
	int fd, st;

	ASSERT_EQ(0, mmdev_set_overcommit(1));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, mmdev_set_size(fd, 4 * cap * PAGE)) TH_LOG("mode 1 refused 4 x capacity: %s",
								 strerror(errno));
	EXPECT_EQ(self->committed0 + 4 * cap, mmdev_stat("committed_pages"));
	ASSERT_EQ(0, mmdev_set_size(fd, 2 * cap * PAGE)) TH_LOG("%s", strerror(errno));
	st = touch_until_failure(self->fd, fd, cap, room, npages, &r, self->res,
				 sizeof(self->res));
	check_failed_fault(_metadata, self->fd, fd, st, &r, npages, room, self->res,
			   sizeof(self->res));
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
}

/*
 * Mode 1, nothing else holding memory: a region a quarter bigger than the
 * whole capacity, touched page after page, gets most of the capacity and
 * then SIGBUS, never more pages than there are.
 */
TEST_F_TIMEOUT(mmdev, mode1_touch_past_the_capacity, 300)
{
	const uint64_t cap = self->st.capacity_pages;
	const size_t npages = cap + cap / 4;
	struct mmlab_mmdev_stats s;
	struct storm_result r;
	unsigned char *p;
	int fd, st;

	ASSERT_EQ(0, mmdev_set_overcommit(1));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, npages * PAGE)) TH_LOG("%s", strerror(errno));
	/* room = cap: the pressure pool takes nothing */
	st = touch_until_failure(self->fd, fd, cap, cap, npages, &r, self->res,
				 sizeof(self->res));
	ASSERT_LE(0, st) TH_LOG("setup failed (%d): %s", st, self->res);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d (9: OOM killer or a hang)",
					  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	EXPECT_EQ(SIGBUS, r.sig) TH_LOG("touched %zu of %zu pages", r.touched, npages);
	EXPECT_GE(cap - self->used0, r.touched) TH_LOG("more pages than the capacity");
	EXPECT_LE(cap / 2, r.touched) TH_LOG("SIGBUS after only %zu of %llu pages", r.touched,
					     (unsigned long long)cap);
	TH_LOG("SIGBUS after %zu pages; capacity %llu, %llu used before", r.touched,
	       (unsigned long long)cap, (unsigned long long)self->used0);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(r.touched, s.resident_pages);
	EXPECT_LE(1, s.fault_failures);
	EXPECT_EQ(self->used0 + r.touched, mmdev_used());
	/* punch some: the page that failed faults in now */
	ASSERT_EQ(0, mmdev_punch(fd, 0, 1024 * PAGE));
	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, mmdev_try_write(p + r.touched * PAGE, 1));
	EXPECT_EQ(0x11, p[(r.touched - 1) * PAGE]);
	munmap(p, npages * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
}

/*
 * Mode 1 sizes go up to 2 TiB (a sparse page table): the last page of a
 * 2 TiB region faults in and shows in the counts; one page more is refused.
 */
TEST_F(mmdev, mode1_sparse_2tib_region)
{
	const uint64_t tib2 = 2ull << 40;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	int fd;

	ASSERT_EQ(0, mmdev_set_overcommit(1));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, tib2)) TH_LOG("2 TiB in mode 1: %s", strerror(errno));
	EXPECT_EQ(-1, mmdev_set_size(fd, tib2 + PAGE));
	EXPECT_EQ(ENOMEM, errno);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(tib2 - PAGE));
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap at 2 TiB - 4 KiB: %s", strerror(errno));
	EXPECT_EQ(0, mmdev_try_write(p, 7));
	EXPECT_EQ(SIGBUS, mmdev_try_read(p + PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(tib2 / PAGE, s.size_pages);
	EXPECT_EQ(tib2 / PAGE, s.committed_pages);
	EXPECT_EQ(1, s.resident_pages);
	EXPECT_EQ(self->used0 + 1, mmdev_used());
	ASSERT_EQ(0, mmdev_punch(fd, tib2 - PAGE, PAGE));
	EXPECT_EQ(self->used0, mmdev_used());
	munmap(p, 2 * PAGE);
	ASSERT_EQ(0, mmdev_set_overcommit(0));
	EXPECT_EQ(0, mmdev_set_size(fd, 16 * PAGE)) TH_LOG("shrinking is always allowed: %s",
							   strerror(errno));
	close(fd);
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
}

/*
 * Mode 2 at ratio 10: growth past the commit limit is ENOMEM (SET_SIZE and
 * a sizing mmap), shrink and close give the commitment back, and the whole
 * committed size faults in without a single failure.
 */
TEST_F_TIMEOUT(mmdev, mode2_commit_limit, 240)
{
	const uint64_t cap = self->st.capacity_pages;
	uint64_t limit, c0, size;
	struct mmlab_mmdev_stats s;
	unsigned char *p;
	size_t got;
	int a, b, sig;

	ASSERT_EQ(0, mmdev_set_ratio(10));
	ASSERT_EQ(0, mmdev_set_overcommit(2));
	limit = mmdev_stat("commit_limit_pages");
	ASSERT_EQ(cap * 10 / 100, limit);
	c0 = mmdev_stat("committed_pages");
	ASSERT_GT(limit, c0 + 64) TH_LOG("something else committed %llu pages",
					 (unsigned long long)c0);
	size = limit - c0;

	a = mmdev_open();
	b = mmdev_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(-1, mmdev_set_size(a, (size + 1) * PAGE));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(c0, mmdev_stat("committed_pages"));
	ASSERT_EQ(0, mmdev_set_size(a, size * PAGE)) TH_LOG("up to the limit: %s", strerror(errno));
	EXPECT_EQ(limit, mmdev_stat("committed_pages"));
	EXPECT_EQ(-1, mmdev_set_size(b, PAGE));
	EXPECT_EQ(ENOMEM, errno) TH_LOG("one page past the limit");
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("a sizing mmap past the limit");
	EXPECT_EQ(ENOMEM, errno);

	ASSERT_EQ(0, mmdev_set_size(a, (size - 16) * PAGE));
	EXPECT_EQ(0, mmdev_set_size(b, 16 * PAGE)) TH_LOG("the shrink gave 16 pages back");
	EXPECT_EQ(-1, mmdev_set_size(b, 17 * PAGE));
	EXPECT_EQ(ENOMEM, errno);
	ASSERT_EQ(0, mmdev_stats(b, &s));
	EXPECT_EQ(16, s.size_pages) TH_LOG("a refused growth changed the size");
	EXPECT_EQ(16, s.committed_pages);

	/* committed: every page faults in */
	size -= 16;
	p = mmap(NULL, size * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, p);
	got = mmdev_touch(p, size, 1, 1, 0x22, &sig);
	EXPECT_EQ(size, got) TH_LOG("signal %d at page %zu of a committed region", sig, got);
	EXPECT_EQ(0, sig);
	ASSERT_EQ(0, mmdev_stats(a, &s));
	EXPECT_EQ(size, s.resident_pages);
	EXPECT_EQ(0, s.fault_failures);
	munmap(p, size * PAGE);
	close(a);
	EXPECT_EQ(c0 + 16, mmdev_stat("committed_pages"));
	EXPECT_EQ(0, mmdev_set_size(b, 1000 * PAGE)) TH_LOG("close gave the commitment back");
	close(b);

	/* ratio 0: nothing can be committed */
	ASSERT_EQ(0, mmdev_set_ratio(0));
	a = mmdev_open();
	ASSERT_LE(0, a);
	if (c0 == 0) {
		EXPECT_EQ(-1, mmdev_set_size(a, PAGE));
		EXPECT_EQ(ENOMEM, errno);
	}
	close(a);
	EXPECT_EQ(self->used0, mmdev_used());
}

/*
 * Mode 2 gives Linux's guarantee, not more (docs/mmdev.md): memory that
 * mmlab's kernel-side users hold (here the pressure pool, as a control
 * allocation) is not in committed_pages. When they hold everything, a
 * committed fault still fails - cleanly: SIGBUS, counted, and a kernel log
 * line naming the region and the offset. Give the memory back and every
 * committed page faults in.
 */
TEST_F_TIMEOUT(mmdev, mode2_exhausted_by_kernel_users_is_sigbus, 240)
{
	const uint64_t cap = self->st.capacity_pages;
	const size_t npages = 2048;
	char log[16384] = "", want[96];
	struct mmlab_mmdev_stats s;
	struct storm_result r;
	size_t got;
	unsigned char *p;
	int fd, st, sig;

	ASSERT_EQ(0, mmdev_set_overcommit(2));
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, npages * PAGE)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(npages, s.committed_pages);
	st = touch_until_failure(self->fd, fd, cap, 0, npages, &r, self->res, sizeof(self->res));
	ASSERT_LE(0, st) TH_LOG("setup failed (%d): %s", st, self->res);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("child killed by signal %d (9: OOM killer or a hang)",
					  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	TH_LOG("the pressure pool left %llu pages; %zu committed pages faulted in",
	       (unsigned long long)r.avail, r.touched);
	ASSERT_GT(npages, r.avail) TH_LOG("the pressure pool left too much: nothing to prove");
	EXPECT_EQ(SIGBUS, r.sig);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_LE(1, s.fault_failures);
	EXPECT_EQ(r.touched, s.resident_pages);
	ASSERT_LE(0, self->kmsg);
	mmlab_kmsg_read(self->kmsg, log, sizeof(log));
	snprintf(want, sizeof(want), "mmdev: region %llu: no page for offset %zu ",
		 (unsigned long long)s.id, r.touched);
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("no '%s' in the kernel log", want);

	ASSERT_EQ(0, CTL("pressure release=all")) TH_LOG("%s", self->res);
	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	got = mmdev_touch(p, npages, 1, 1, 0x44, &sig);
	EXPECT_EQ(npages, got) TH_LOG("signal %d at page %zu with the memory back", sig, got);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(npages, s.resident_pages);
	munmap(p, npages * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
}

TEST_HARNESS_MAIN
