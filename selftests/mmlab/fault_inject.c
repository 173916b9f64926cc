// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject - mmlab's fault injection (docs/fault-injection.md): the
 * files of /sys/kernel/debug/mmlab/fail/<site>/ with the kernel's names and
 * defaults, EINVAL (and a pr_warn) for bad values, each site failing what
 * it guards the way a real failure would - ENOMEM from the control file,
 * "from reserve" from a mempool, SIGBUS from /dev/mmlab - the same seed
 * failing the same calls, the kernel's /proc/<pid>/fail-nth and
 * make-it-fail where the kernel has CONFIG_FAULT_INJECTION, and after every
 * test: the sites off, the checker happy, nothing borrowed.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#define NR_SITES	5

static const char *const sites[NR_SITES] = { "chunk", "buddy", "slab", "mempool",
					      "mmdev_fault" };

/* fail/<site>/<file>: 0 or -errno (one write, as echo does). */
static int fail_write(const char *site, const char *file, const char *text)
{
	char name[128];

	snprintf(name, sizeof(name), "fail/%s/%s", site, file);
	return mmdev_debugfs_write(name, text);
}

/* fail/<site>/<file> as text without its newline, or "" if unreadable. */
static const char *fail_read(const char *site, const char *file)
{
	static char buf[64];
	char name[128];
	ssize_t n;

	snprintf(name, sizeof(name), "fail/%s/%s", site, file);
	n = mmlab_read_file(name, buf, sizeof(buf));
	if (n <= 0)
		return "";
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static uint64_t fail_num(const char *site, const char *file)
{
	return strtoull(fail_read(site, file), NULL, 10);
}

/* Every site back to the kernel's defaults: off. */
static int fail_reset_all(void)
{
	int i, err = 0;

	for (i = 0; i < NR_SITES; i++) {
		err |= fail_write(sites[i], "probability", "0");
		err |= fail_write(sites[i], "interval", "1");
		err |= fail_write(sites[i], "times", "1");
		err |= fail_write(sites[i], "space", "0");
		err |= fail_write(sites[i], "verbose", "1");
		err |= fail_write(sites[i], "seed", "0");
		err |= fail_write(sites[i], "task-filter", "N");
	}
	err |= fail_write("buddy", "ignore-gfp-wait", "Y");
	err |= fail_write("buddy", "min-order", "1");
	err |= fail_write("slab", "ignore-gfp-wait", "Y");
	err |= fail_write("slab", "cache-filter", "N");
	return err;
}

/* probability 100, no limit, quiet, every gfp and order. */
static int fail_always(const char *site)
{
	int err = fail_write(site, "verbose", "0") | fail_write(site, "times", "-1");

	if (!strcmp(site, "buddy") || !strcmp(site, "slab"))
		err |= fail_write(site, "ignore-gfp-wait", "N");
	if (!strcmp(site, "buddy"))
		err |= fail_write(site, "min-order", "0");
	return err | fail_write(site, "probability", "100");
}

/* Does the kernel have CONFIG_FAULT_INJECTION (its /proc files)? */
static int kernel_has_fault_injection(void)
{
	return access("/proc/thread-self/fail-nth", F_OK) == 0;
}

static int proc_write(const char *file, const char *text)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/thread-self/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = -errno;
	close(fd);
	return err;
}

FIXTURE(fail) {
	int fd;
	int kmsg;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	char log[16384];
};

#define KMSG()	mmlab_kmsg_read(self->kmsg, self->log, sizeof(self->log))

FIXTURE_SETUP(fail)
{
	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s/control: %s", mmlab_dir(), strerror(-self->fd));
	ASSERT_EQ(0, access("/sys/kernel/debug/mmlab/fail/slab/probability", F_OK))
		TH_LOG("no fail/ directory: %s", strerror(errno));
	ASSERT_EQ(0, fail_reset_all());
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res)))
		TH_LOG("setup: %s", self->res);
	self->kmsg = mmlab_kmsg_open();
	self->log[0] = '\0';
}

FIXTURE_TEARDOWN(fail)
{
	_metadata->trigger = 0;
	if (self->fd < 0)
		return;
	EXPECT_EQ(0, fail_reset_all());
	EXPECT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res)))
		TH_LOG("teardown: %s", self->res);
	EXPECT_EQ(0, CTL("check")) TH_LOG("check: %s", self->res);
	EXPECT_STREQ("ok", self->res);
	if (self->kmsg >= 0) {
		const char *bad;

		KMSG();
		bad = mmdev_kmsg_bad(self->log);
		EXPECT_TRUE(bad == NULL) TH_LOG("kernel log: %.300s", bad);
		close(self->kmsg);
	}
	close(self->fd);
}

/* The kernel's file names, modes and defaults (FAULT_ATTR_INITIALIZER,
 * failslab, fail_page_alloc); mmlab's seed and counters. */
TEST_F(fail, files_and_defaults)
{
	static const char *const common[] = { "probability", "interval", "times", "space",
		"verbose", "verbose_ratelimit_interval_ms", "verbose_ratelimit_burst",
		"task-filter", "seed" };
	char path[256];
	struct stat st;
	unsigned int i, j;

	for (i = 0; i < NR_SITES; i++) {
		for (j = 0; j < sizeof(common) / sizeof(common[0]); j++) {
			snprintf(path, sizeof(path), "%s/fail/%s/%s", mmlab_dir(), sites[i],
				 common[j]);
			ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path, strerror(errno));
			EXPECT_EQ(0600, st.st_mode & 0777) TH_LOG("%s", path);
		}
		snprintf(path, sizeof(path), "%s/fail/%s/injected", mmlab_dir(), sites[i]);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0400, st.st_mode & 0777);
		snprintf(path, sizeof(path), "%s/fail/%s/calls", mmlab_dir(), sites[i]);
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0400, st.st_mode & 0777);
		EXPECT_STREQ("0", fail_read(sites[i], "probability"));
		EXPECT_STREQ("1", fail_read(sites[i], "interval"));
		EXPECT_STREQ("1", fail_read(sites[i], "times"));
		EXPECT_STREQ("0", fail_read(sites[i], "space"));
		EXPECT_STREQ("1", fail_read(sites[i], "verbose"));
		EXPECT_STREQ("N", fail_read(sites[i], "task-filter"));
	}
	EXPECT_STREQ("Y", fail_read("slab", "ignore-gfp-wait"));
	EXPECT_STREQ("Y", fail_read("buddy", "ignore-gfp-wait"));
	EXPECT_STREQ("1", fail_read("buddy", "min-order"));
	EXPECT_STREQ("N", fail_read("slab", "cache-filter"));
	snprintf(path, sizeof(path), "%s/fail/chunk/min-order", mmlab_dir());
	EXPECT_NE(0, access(path, F_OK)) TH_LOG("min-order is fail_page_alloc's only");
	snprintf(path, sizeof(path), "%s/fail/mempool/ignore-gfp-wait", mmlab_dir());
	EXPECT_NE(0, access(path, F_OK));
}

TEST_F(fail, bad_values_are_einval_with_a_reason)
{
	static const struct {
		const char *site, *file, *value, *reason;
	} cases[] = {
		{ "slab", "probability", "101", "fail/slab/probability: 101 out of range 0..100" },
		{ "slab", "probability", "ten", "fail/slab/probability: 'ten' is not an unsigned number" },
		{ "buddy", "times", "-2", "fail/buddy/times: '-2' out of range" },
		{ "chunk", "verbose", "3", "fail/chunk/verbose: 3 out of range 0..2" },
		{ "buddy", "min-order", "11", "fail/buddy/min-order: 11 out of range 0..10" },
		{ "slab", "ignore-gfp-wait", "maybe", "is not a boolean" },
		{ "mempool", "space", "-1", "is not an unsigned number" },
		{ "mmdev_fault", "calls", "0", "fail: mmdev_fault/calls is read-only" },
	};
	unsigned int i;
	int ret;

	/*
	 * Refusals are logged with pr_warn_ratelimited (10 per 5 s for all of
	 * mmlab's answers to bad input): earlier programs may have used up the
	 * window. A new one starts 5 s after the last; the 9 below fit in it.
	 */
	usleep(5200 * 1000);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ret = fail_write(cases[i].site, cases[i].file, cases[i].value);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("%s/%s <- '%s': %s", cases[i].site, cases[i].file,
					       cases[i].value, strerror(-ret));
		KMSG();
		EXPECT_NE(NULL, strstr(self->log, cases[i].reason))
			TH_LOG("no pr_warn '%s' in:\n%s", cases[i].reason, self->log);
	}
	EXPECT_STREQ("0", fail_read("slab", "probability")) TH_LOG("nothing changed");
	EXPECT_STREQ("1", fail_read("buddy", "times"));
	EXPECT_STREQ("1", fail_read("buddy", "min-order"));
	EXPECT_STREQ("0", fail_read("mmdev_fault", "calls"));
	/* task-filter needs the kernel's make-it-fail. */
	ret = fail_write("slab", "task-filter", "Y");
	EXPECT_EQ(kernel_has_fault_injection() ? 0 : -EINVAL, ret);
	/* What the kernel's own parsers take. */
	EXPECT_EQ(0, fail_write("slab", "probability", "0x0a\n"));
	EXPECT_STREQ("10", fail_read("slab", "probability"));
	EXPECT_EQ(0, fail_write("slab", "times", "-1"));
	EXPECT_STREQ("-1", fail_read("slab", "times"));
}

/* failslab: kmalloc fails with ENOMEM `times` times, reported like the
 * kernel's fail_dump(); GFP_KERNEL spared while ignore-gfp-wait is Y. */
TEST_F(fail, slab_site_fails_kmalloc)
{
	unsigned int i;

	ASSERT_EQ(0, fail_write("slab", "verbose", "1"));
	ASSERT_EQ(0, fail_write("slab", "times", "3"));
	ASSERT_EQ(0, fail_write("slab", "probability", "100"));
	EXPECT_EQ(0, CTL("kmalloc size=90")) TH_LOG("GFP_KERNEL is spared: %s", self->res);
	EXPECT_STREQ("0", fail_read("slab", "injected"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ENOMEM, CTL("kmalloc size=90 gfp=GFP_ATOMIC")) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("kmalloc size=90 gfp=GFP_ATOMIC")) TH_LOG("times used up: %s", self->res);
	EXPECT_STREQ("3", fail_read("slab", "injected"));
	EXPECT_STREQ("0", fail_read("slab", "times"));
	EXPECT_EQ(0, fail_write("slab", "ignore-gfp-wait", "N"));
	EXPECT_EQ(0, fail_write("slab", "times", "1"));
	EXPECT_EQ(-ENOMEM, CTL("kmalloc size=90")) TH_LOG("%s", self->res);
	EXPECT_EQ(0, fail_write("slab", "times", "1"));
	EXPECT_EQ(0, CTL("kmalloc size=90 gfp=GFP_KERNEL|__GFP_NOFAIL"))
		TH_LOG("__GFP_NOFAIL never fails: %s", self->res);
	KMSG();
	EXPECT_NE(NULL, strstr(self->log, "FAULT_INJECTION: forcing a failure."))
		TH_LOG("%s", self->log);
	EXPECT_NE(NULL, strstr(self->log, "name slab, interval 1, probability 100, space 0, times 3"))
		TH_LOG("%s", self->log);
}

/* cache-filter: only caches created with SLAB_FAILSLAB (flags=FAILSLAB). */
TEST_F(fail, slab_cache_filter)
{
	unsigned long marked, plain;

	ASSERT_EQ(0, CTL("cache_create name=fi_marked size=48 flags=FAILSLAB")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %lu", &marked));
	ASSERT_EQ(0, CTL("cache_create name=fi_plain size=48")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %lu", &plain));
	ASSERT_EQ(0, fail_always("slab"));
	ASSERT_EQ(0, fail_write("slab", "cache-filter", "Y"));
	EXPECT_EQ(-ENOMEM, CTL("cache_alloc cache=%lu", marked)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("cache_alloc cache=%lu", plain)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("kmalloc size=48")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, fail_write("slab", "cache-filter", "N"));
	EXPECT_EQ(-ENOMEM, CTL("cache_alloc cache=%lu", plain)) TH_LOG("%s", self->res);
}

/* The same seed fails the same calls; another seed others. */
TEST_F(fail, same_seed_same_failures)
{
	char first[65], again[65], other[65];
	char *runs[3] = { first, again, other };
	const char *seeds[3] = { "7", "7", "8" };
	unsigned int r, i;

	ASSERT_EQ(0, fail_write("slab", "verbose", "0"));
	ASSERT_EQ(0, fail_write("slab", "times", "-1"));
	ASSERT_EQ(0, fail_write("slab", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, fail_write("slab", "probability", "50"));
	for (r = 0; r < 3; r++) {
		ASSERT_EQ(0, fail_write("slab", "seed", seeds[r]));
		for (i = 0; i < 64; i++)
			runs[r][i] = CTL("kmalloc size=%u", 16 + i * 8) ? 'F' : '.';
		runs[r][64] = '\0';
		ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	}
	TH_LOG("seed 7: %s", first);
	TH_LOG("seed 8: %s", other);
	EXPECT_STREQ(first, again);
	EXPECT_STRNE(first, other);
	EXPECT_NE(NULL, strchr(first, 'F'));
	EXPECT_NE(NULL, strchr(first, '.'));
}

/* fail_page_alloc: min-order, __GFP_NOFAIL, counted in stats failures. */
TEST_F(fail, buddy_site_fails_alloc_pages)
{
	struct mmlab_stats a, b;
	char why[256];
	struct mmlab_block blk;

	ASSERT_EQ(0, fail_always("buddy"));
	ASSERT_EQ(0, fail_write("buddy", "min-order", "2"));
	ASSERT_EQ(0, mmlab_read_stats(&a, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(0, mmlab_alloc(self->fd, 1, &blk, self->res, sizeof(self->res)))
		TH_LOG("order 1 < min-order 2: %s", self->res);
	EXPECT_EQ(-ENOMEM, CTL("alloc order=2")) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOMEM, CTL("alloc order=3 gfp=GFP_ATOMIC")) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("alloc order=2 gfp=GFP_KERNEL|__GFP_NOFAIL")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&b, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(a.failures[2] + 1, b.failures[2]);
	EXPECT_EQ(a.failures[3] + 1, b.failures[3]);
	EXPECT_STREQ("2", fail_read("buddy", "injected"));
	/* vmalloc gives back what it took and fails cleanly. */
	ASSERT_EQ(0, fail_write("buddy", "min-order", "0"));
	EXPECT_EQ(-ENOMEM, CTL("vmalloc size=40000")) TH_LOG("%s", self->res);
}

/* A chunk the host "refused": nothing borrowed, ENOMEM, fine again after. */
TEST_F(fail, chunk_site_refuses_borrowing)
{
	struct mmlab_stats s;
	char why[256];

	ASSERT_EQ(0, fail_always("chunk"));
	EXPECT_EQ(-ENOMEM, CTL("alloc order=0 gfp=GFP_KERNEL|__GFP_NOWARN")) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOMEM, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&s, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(0, s.host_chunks);
	EXPECT_LE(2, fail_num("chunk", "injected"));
	ASSERT_EQ(0, fail_write("chunk", "probability", "0"));
	EXPECT_EQ(0, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
}

/* The backing allocation fails: the reserve serves, as it is there to. */
TEST_F(fail, mempool_site_serves_from_reserve)
{
	unsigned long pool;

	ASSERT_EQ(0, CTL("mempool_create name=fi min_nr=2 type=kmalloc size=64")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "pool %lu", &pool));
	ASSERT_EQ(0, fail_always("mempool"));
	EXPECT_EQ(0, CTL("mempool_alloc pool=%lu", pool));
	EXPECT_NE(NULL, strstr(self->res, "from reserve")) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("mempool_alloc pool=%lu gfp=GFP_ATOMIC", pool));
	EXPECT_NE(NULL, strstr(self->res, "from reserve")) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOMEM, CTL("mempool_alloc pool=%lu gfp=GFP_ATOMIC", pool))
		TH_LOG("reserve empty, backing failing, atomic: %s", self->res);
	ASSERT_EQ(0, CTL("mempool_info pool=%lu", pool));
	EXPECT_NE(NULL, strstr(self->res, " reserve_hits 2 ")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, fail_write("mempool", "probability", "0"));
	EXPECT_EQ(0, CTL("mempool_alloc pool=%lu", pool));
	EXPECT_NE(NULL, strstr(self->res, "from backing")) TH_LOG("%s", self->res);
	EXPECT_EQ(3, fail_num("mempool", "injected"));
}

/* A /dev/mmlab fault that needs a page gets SIGBUS, counted as a failure. */
TEST_F(fail, mmdev_fault_is_sigbus)
{
	struct mmlab_mmdev_stats s;
	volatile unsigned char *p;
	int fd;

	mmdev_catch_fault_signals();
	fd = mmdev_open();
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", MMDEV_PATH, strerror(errno));
	ASSERT_EQ(0, mmdev_set_size(fd, 4 * PAGE));
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)p);
	EXPECT_EQ(0, mmdev_try_write(p, 1));
	ASSERT_EQ(0, fail_write("mmdev_fault", "verbose", "0"));
	ASSERT_EQ(0, fail_write("mmdev_fault", "times", "1"));
	ASSERT_EQ(0, fail_write("mmdev_fault", "probability", "100"));
	EXPECT_EQ(0, mmdev_try_write(p, 2)) TH_LOG("a mapped page faults no more");
	EXPECT_EQ(SIGBUS, mmdev_try_write(p + PAGE, 1)) TH_LOG("the injected failure");
	EXPECT_EQ(0, mmdev_try_write(p + PAGE, 1)) TH_LOG("times used up");
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(1, s.fault_failures);
	EXPECT_EQ(2, s.resident_pages);
	EXPECT_STREQ("1", fail_read("mmdev_fault", "injected"));
	munmap((void *)p, 4 * PAGE);
	close(fd);
	mmdev_wait_stat("regions", 0, 2000);
}

/*
 * CONFIG_FAULT_INJECTION: echo N > /proc/thread-self/fail-nth fails the
 * N-th fault-injection site this task meets, mmlab's included, whatever
 * the probability files say.
 */
TEST_F(fail, kernel_fail_nth)
{
	uint64_t before;
	unsigned int n;
	char nth[16];
	int found = 0;

	if (!kernel_has_fault_injection())
		SKIP(return, "the kernel has no CONFIG_FAULT_INJECTION (/proc/thread-self/fail-nth)");
	ASSERT_EQ(0, fail_write("slab", "verbose", "0"));
	ASSERT_EQ(0, CTL("kmalloc size=64 gfp=GFP_ATOMIC")) TH_LOG("%s", self->res);
	/* The kernel's own sites may come first on the way in: find mmlab's. */
	for (n = 1; n <= 16 && !found; n++) {
		before = fail_num("slab", "injected");
		snprintf(nth, sizeof(nth), "%u", n);
		ASSERT_EQ(0, proc_write("fail-nth", nth));
		if (CTL("kmalloc size=64 gfp=GFP_ATOMIC") == -ENOMEM &&
		    fail_num("slab", "injected") == before + 1)
			found = n;
		ASSERT_EQ(0, proc_write("fail-nth", "0"));
	}
	EXPECT_NE(0, found) TH_LOG("no fail-nth value up to 16 failed mmlab's slab site");
	TH_LOG("fail-nth %d failed mmlab's kmalloc", found);
	EXPECT_STREQ("0", fail_read("slab", "probability"));
	EXPECT_EQ(0, CTL("kmalloc size=64 gfp=GFP_ATOMIC")) TH_LOG("%s", self->res);
}

/* CONFIG_FAULT_INJECTION: task-filter fails only tasks with make-it-fail. */
TEST_F(fail, kernel_task_filter)
{
	if (!kernel_has_fault_injection())
		SKIP(return, "the kernel has no CONFIG_FAULT_INJECTION (/proc/<pid>/make-it-fail)");
	ASSERT_EQ(0, fail_always("slab"));
	ASSERT_EQ(0, fail_write("slab", "task-filter", "Y"));
	EXPECT_EQ(0, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, proc_write("make-it-fail", "1"));
	EXPECT_EQ(-ENOMEM, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, proc_write("make-it-fail", "0"));
	EXPECT_EQ(0, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
}

/* Everything on at once, then off: nothing lost, the checker happy. */
TEST_F(fail, all_sites_then_clean)
{
	unsigned long pool;
	unsigned int i, ok = 0, failed = 0;
	char seed[16];

	ASSERT_EQ(0, CTL("mempool_create name=mix min_nr=4 type=kmalloc size=200")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "pool %lu", &pool));
	for (i = 0; i < NR_SITES; i++) {
		snprintf(seed, sizeof(seed), "%u", 100 + i);
		ASSERT_EQ(0, fail_always(sites[i]));
		ASSERT_EQ(0, fail_write(sites[i], "seed", seed));
		ASSERT_EQ(0, fail_write(sites[i], "probability", "20"));
	}
	for (i = 0; i < 300; i++) {
		int ret;

		switch (i % 5) {
		case 0: ret = CTL("kmalloc size=100 gfp=GFP_KERNEL|__GFP_NOWARN"); break;
		case 1: ret = CTL("alloc order=1 gfp=GFP_NOWAIT|__GFP_NOWARN"); break;
		case 2: ret = CTL("vmalloc size=9000 gfp=GFP_KERNEL|__GFP_NOWARN"); break;
		case 3: ret = CTL("kmalloc size=20000 gfp=GFP_KERNEL|__GFP_NOWARN"); break;
		default: ret = CTL("mempool_alloc pool=%lu gfp=GFP_ATOMIC", pool); break;
		}
		if (ret)
			failed++;
		else
			ok++;
	}
	TH_LOG("%u commands succeeded, %u failed", ok, failed);
	EXPECT_LT(0, ok);
	EXPECT_LT(0, failed);
	for (i = 0; i < 4; i++)
		EXPECT_LT(0, fail_num(sites[i], "injected")) TH_LOG("%s", sites[i]);
	EXPECT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
}

MMLAB_HARNESS_MAIN
