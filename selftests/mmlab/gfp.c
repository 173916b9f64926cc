// SPDX-License-Identifier: GPL-2.0
/*
 * gfp - GFP semantics that only the real kernel can show: allocations run
 * with interrupts off under a spinlock and in a timer callback (atomic
 * flags succeed, sleeping flags are refused with EINVAL, nothing sleeps),
 * GFP_ATOMIC dipping into the reserve below min where GFP_NOWAIT may not,
 * and the explanation a failed allocation prints unless __GFP_NOWARN
 * (docs/debugfs.md: alloc ... context=, pressure).
 *
 * A sleep in atomic context would show as "BUG: sleeping function called
 * from invalid context" or "BUG: scheduling while atomic"; run-vm.sh fails
 * the run on any BUG: line, and the tests here also look for them.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

#define KMSG_MAX	(64 * 1024)
#define NOWARN_NORETRY	"__GFP_NORETRY|__GFP_NOWARN"

static const char *const atomic_ctx[] = { "irqoff", "timer" };
#define NR_CTX (sizeof(atomic_ctx) / sizeof(atomic_ctx[0]))

/* Kernel complaints about sleeping where one must not. */
static const char *sleep_splat(const char *log)
{
	static const char *const bad[] = {
		"sleeping function called from invalid context",
		"scheduling while atomic", "BUG:", "WARNING:", "Call Trace:",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(log, bad[i]))
			return bad[i];
	return NULL;
}

/* Borrow a chunk for each zone and give the pages back: free pages to take. */
static int prime_zones(int fd, char *res, size_t cap)
{
	static const char *const gfp[] = { "GFP_KERNEL", "GFP_KERNEL|GFP_DMA32" };
	struct mmlab_block b;
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = mmlab_ctl(fd, res, cap, "alloc order=0 gfp=%s", gfp[i]);
		if (ret)
			return ret;
		if (mmlab_parse_alloc(res, &b))
			return -EBADMSG;
		ret = mmlab_ctl(fd, res, cap, "free %" PRIu64, b.handle);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Take everything: Normal requests until the lowmem reserve stops them, then
 * DMA32 requests until DMA32 is at its min watermark with its whole share
 * borrowed. NORETRY, so each request gives up after one reclaim pass;
 * NOWARN, so nothing is printed. A request may give up while mmlab_kswapd
 * is still borrowing the zone's last chunk, so the DMA32 step is repeated
 * until the zone is full and quiet.
 */
static int exhaust(int fd, uint64_t capacity, char *res, size_t cap)
{
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	struct mmlab_zi_zone *dma32;
	unsigned int round;
	char why[256];
	int ret;

	if (!zi)
		return -ENOMEM;
	ret = mmlab_ctl(fd, res, cap, "pressure consume=%" PRIu64 " gfp=GFP_KERNEL|" NOWARN_NORETRY,
			capacity);
	if (ret != -ENOMEM)
		goto out;
	for (round = 0; round < 5; round++) {
		ret = mmlab_ctl(fd, res, cap, "pressure consume=%" PRIu64
				" gfp=GFP_KERNEL|GFP_DMA32|" NOWARN_NORETRY, capacity);
		if (ret != -ENOMEM)
			goto out;
		mmlab_settle();
		ret = mmlab_read_zoneinfo(zi, why, sizeof(why));
		if (ret) {
			snprintf(res, cap, "zoneinfo: %s", why);
			goto out;
		}
		dma32 = mmlab_zi_zone(zi, "DMA32");
		if (dma32 && dma32->present == dma32->spanned && dma32->free <= dma32->min) {
			ret = -ENOMEM;
			break;
		}
	}
out:
	free(zi);
	if (ret == -ENOMEM)
		return 0;
	return ret ? ret : -EEXIST;
}

static uint64_t reserve_uses(const struct mmlab_zoneinfo *zi)
{
	uint64_t sum = 0, v;
	unsigned int i;

	for (i = 0; i < zi->nzones; i++)
		if (!mmlab_zi_get(&zi->z[i], "nr_alloc_reserve", &v))
			sum += v;
	return sum;
}

/*
 * GFP_ATOMIC and GFP_NOWAIT allocations of orders 0..4 under a spinlock with
 * interrupts off and in a timer callback: all succeed, from the zone asked
 * for, and the kernel log stays clean. 200 order-0 pages in a row make the
 * per-CPU lists refill from the buddy several times in atomic context.
 */
TEST_F(mmlab, atomic_context_allocations)
{
	static const char *const gfp[] = { "GFP_ATOMIC", "GFP_NOWAIT", "GFP_ATOMIC|__GFP_ZERO",
					   "GFP_ATOMIC|GFP_DMA32", "GFP_NOWAIT|__GFP_NOWARN",
					   "GFP_ATOMIC|__GFP_HIGH" };
	unsigned int c, g, o, i;
	struct mmlab_block b;
	char args[128], *log;
	int kfd, ret;

	log = calloc(1, KMSG_MAX);
	ASSERT_NE(NULL, log);
	kfd = mmlab_kmsg_open();
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(-kfd));
	ret = prime_zones(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", strerror(-ret), self->res);

	for (c = 0; c < NR_CTX; c++) {
		for (g = 0; g < sizeof(gfp) / sizeof(gfp[0]); g++) {
			snprintf(args, sizeof(args), "gfp=%s context=%s", gfp[g], atomic_ctx[c]);
			for (o = 0; o <= ORD(4); o++) {
				ret = mmlab_alloc_args(self->fd, o, args, &b, self->res,
						       sizeof(self->res));
				ASSERT_EQ(0, ret) TH_LOG("alloc order=%u %s: %s (%s)", o, args,
							 strerror(-ret), self->res);
				EXPECT_STREQ(strstr(gfp[g], "DMA32") || !mmlab_host_has_normal() ?
					     "DMA32" : "Normal", b.zone) TH_LOG("%s", self->res);
				EXPECT_TRUE(mmlab_block_in_zone(&b)) TH_LOG("%s", self->res);
				/* Every other block is freed at once, the rest by teardown. */
				if (o % 2)
					ASSERT_EQ(0, CTL("free %" PRIu64, b.handle))
						TH_LOG("%s", self->res);
			}
		}
		snprintf(args, sizeof(args), "gfp=GFP_ATOMIC context=%s", atomic_ctx[c]);
		for (i = 0; i < 200; i++) {
			ret = mmlab_alloc_args(self->fd, 0, args, &b, self->res, sizeof(self->res));
			ASSERT_EQ(0, ret) TH_LOG("page %u: alloc order=0 %s: %s (%s)", i, args,
						 strerror(-ret), self->res);
		}
		ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	}
	mmlab_kmsg_read(kfd, log, KMSG_MAX);
	EXPECT_EQ(NULL, sleep_splat(log)) TH_LOG("kernel log:\n%s", log);
	close(kfd);
	free(log);
}

/*
 * From nothing borrowed, an atomic allocation may have to borrow a chunk
 * from the host without sleeping. It may fail (ENOMEM), but it must not
 * sleep; if it succeeds, the page is where its zone says.
 */
TEST_F(mmlab, atomic_context_from_empty)
{
	struct mmlab_block b;
	char args[64], *log;
	unsigned int c;
	int kfd, ret;

	log = calloc(1, KMSG_MAX);
	ASSERT_NE(NULL, log);
	kfd = mmlab_kmsg_open();
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(-kfd));
	for (c = 0; c < NR_CTX; c++) {
		ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
		ASSERT_EQ(0, ret) TH_LOG("%s", self->res);
		snprintf(args, sizeof(args), "gfp=GFP_ATOMIC context=%s", atomic_ctx[c]);
		ret = mmlab_alloc_args(self->fd, 0, args, &b, self->res, sizeof(self->res));
		EXPECT_TRUE(ret == 0 || ret == -ENOMEM)
			TH_LOG("alloc order=0 %s with nothing borrowed: %s (%s)", args,
			       strerror(-ret), self->res);
		if (!ret) {
			EXPECT_TRUE(mmlab_block_in_zone(&b)) TH_LOG("%s", self->res);
		} else {
			TH_LOG("alloc order=0 %s with nothing borrowed: %s (%s)", args,
			       strerror(-ret), self->res);
		}
	}
	mmlab_kmsg_read(kfd, log, KMSG_MAX);
	EXPECT_EQ(NULL, sleep_splat(log)) TH_LOG("kernel log:\n%s", log);
	close(kfd);
	free(log);
}

/*
 * Flags that allow direct reclaim (GFP_KERNEL, GFP_NOIO, GFP_NOFS, GFP_USER,
 * the default) are refused in atomic context with EINVAL and a reason,
 * before anything is allocated; in process context they work.
 */
TEST_F(mmlab, sleeping_gfp_refused_in_atomic_context)
{
	static const char *const gfp[] = { "GFP_KERNEL", "GFP_NOIO", "GFP_NOFS", "GFP_USER",
					   "GFP_KERNEL|__GFP_NOFAIL", "GFP_KERNEL|__GFP_NORETRY",
					   "GFP_KERNEL|GFP_DMA32", "GFP_NOIO|__GFP_NOWARN" };
	struct mmlab_stats s;
	struct mmlab_block b;
	unsigned int c, g;
	char args[128];
	int ret;

	ret = prime_zones(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", strerror(-ret), self->res);
	for (c = 0; c < NR_CTX; c++) {
		for (g = 0; g < sizeof(gfp) / sizeof(gfp[0]); g++) {
			ret = CTL("alloc order=0 gfp=%s context=%s", gfp[g], atomic_ctx[c]);
			EXPECT_EQ(-EINVAL, ret) TH_LOG("gfp=%s context=%s: %s (%s)", gfp[g],
						       atomic_ctx[c],
						       ret ? strerror(-ret) : "allocated",
						       self->res);
			EXPECT_NE(0, self->res[0]) TH_LOG("no reason given");
		}
		/* No gfp= is GFP_KERNEL. */
		EXPECT_EQ(-EINVAL, CTL("alloc order=0 context=%s", atomic_ctx[c]))
			TH_LOG("%s", self->res);
	}
	STATS(&s);
	EXPECT_EQ(0, s.used_pages) TH_LOG("a refused request allocated");
	EXPECT_EQ(0, s.control_handles);
	for (g = 0; g < sizeof(gfp) / sizeof(gfp[0]); g++) {
		snprintf(args, sizeof(args), "gfp=%s context=process", gfp[g]);
		ret = mmlab_alloc_args(self->fd, 0, args, &b, self->res, sizeof(self->res));
		EXPECT_EQ(0, ret) TH_LOG("%s: %s (%s)", args, strerror(-ret), self->res);
	}
}

/*
 * With DMA32 at its min watermark (and Normal held by the lowmem reserve),
 * GFP_NOWAIT fails but GFP_ATOMIC and __GFP_HIGH succeed from the reserve
 * below min, in atomic context, and the use is counted in nr_alloc_reserve.
 */
TEST_F(mmlab, atomic_uses_reserve_nowait_does_not)
{
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	struct mmlab_zi_zone *dma32;
	struct mmlab_block b;
	uint64_t r0;
	int ret;

	ASSERT_NE(NULL, zi);
	ret = exhaust(self->fd, self->st.capacity_pages, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("exhausting: %s (%s)", strerror(-ret), self->res);
	ZONEINFO(zi);
	dma32 = mmlab_zi_zone(zi, "DMA32");
	ASSERT_NE(NULL, dma32);
	TH_LOG("DMA32: free %" PRIu64 " (+%" PRIu64 " on pcp lists), min %" PRIu64 ", present %"
	       PRIu64 " of %" PRIu64, dma32->free, mmlab_zi_pcp_pages(dma32), dma32->min,
	       dma32->present, dma32->spanned);
	EXPECT_GE(dma32->min, dma32->free) TH_LOG("DMA32 above min after it was exhausted");
	r0 = reserve_uses(zi);

	ret = CTL("alloc order=0 gfp=GFP_NOWAIT|GFP_DMA32|__GFP_NOWARN");
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("GFP_NOWAIT below min: %s (%s)",
				       ret ? strerror(-ret) : "allocated", self->res);
	ret = CTL("alloc order=0 gfp=GFP_NOWAIT|GFP_DMA32|__GFP_NOWARN context=irqoff");
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("GFP_NOWAIT below min, irqs off: %s (%s)",
				       ret ? strerror(-ret) : "allocated", self->res);

	ret = mmlab_alloc_args(self->fd, 0, "gfp=GFP_ATOMIC|GFP_DMA32 context=irqoff", &b,
			       self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("GFP_ATOMIC below min: %s (%s)", strerror(-ret), self->res);
	EXPECT_STREQ("DMA32", b.zone);
	ret = mmlab_alloc_args(self->fd, 0, "gfp=GFP_NOWAIT|__GFP_HIGH|GFP_DMA32", &b,
			       self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("__GFP_HIGH below min: %s (%s)", strerror(-ret), self->res);
	ZONEINFO(zi);
	EXPECT_LT(r0, reserve_uses(zi)) TH_LOG("reserve use not counted in nr_alloc_reserve");
	free(zi);
}

/* Lines of log mentioning a page allocation failure, into out. */
static int failure_lines(const char *log, char *out, size_t cap)
{
	const char *p = log, *nl;
	size_t len = 0;
	int found = 0, in_report = 0;

	out[0] = '\0';
	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (strstr(p, "page allocation failure") && strstr(p, "page allocation failure") < nl) {
			found = 1;
			in_report = 1;
		}
		/* Keep the report and what mmlab printed right after it. */
		if (in_report && len + (nl - p) + 2 < cap)
			len += snprintf(out + len, cap - len, "%.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
	return found;
}

/*
 * Provoke a report: everything taken, a chunk-order NORETRY request must
 * fail; with __GFP_NOWARN nothing is printed, without it one complete
 * explanation is: "page allocation failure", the order, the decoded flags
 * and the zones tried. burst: refused control commands (each logs a
 * warning) sent just before, as a script that went wrong first would.
 */
static void check_failure_report(struct __test_metadata *_metadata,
				 FIXTURE_DATA(mmlab) *self, unsigned int burst)
{
	unsigned int co = self->st.chunk_order, attempt, i;
	char *log, *report, pat[64];
	int kfd, ret, found = 0;
	regex_t r;

	log = calloc(1, KMSG_MAX);
	report = calloc(1, KMSG_MAX);
	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, report);
	ret = exhaust(self->fd, self->st.capacity_pages, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("exhausting: %s (%s)", strerror(-ret), self->res);
	kfd = mmlab_kmsg_open();
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(-kfd));

	ret = CTL("alloc order=%u gfp=GFP_KERNEL|__GFP_NORETRY|__GFP_NOWARN", co);
	ASSERT_EQ(-ENOMEM, ret) TH_LOG("order-%u with everything taken: %s (%s)", co,
				       ret ? strerror(-ret) : "allocated", self->res);
	mmlab_kmsg_read(kfd, log, KMSG_MAX);
	EXPECT_FALSE(failure_lines(log, report, KMSG_MAX))
		TH_LOG("__GFP_NOWARN, yet:\n%s", report);

	/* One report per 5 s (the previous test may have had it): retry once. */
	for (attempt = 0; attempt < 2 && !found; attempt++) {
		if (attempt)
			usleep(5500 * 1000);
		for (i = 0; i < burst; i++)
			EXPECT_EQ(-EINVAL, CTL("alloc order=%u", co + 1 + i)) TH_LOG("%s", self->res);
		log[0] = '\0';
		ret = CTL("alloc order=%u gfp=GFP_KERNEL|__GFP_NORETRY", co);
		ASSERT_EQ(-ENOMEM, ret) TH_LOG("order-%u with everything taken: %s (%s)", co,
					       ret ? strerror(-ret) : "allocated", self->res);
		mmlab_kmsg_read(kfd, log, KMSG_MAX);
		found = failure_lines(log, report, KMSG_MAX);
	}
	ASSERT_TRUE(found) TH_LOG("no 'page allocation failure' in the kernel log:\n%s", log);
	TH_LOG("the explanation:\n%s", report);
	EXPECT_NE(NULL, strstr(report, "mmlab")) TH_LOG("the report does not say it is mmlab's");
	snprintf(pat, sizeof(pat), "order[:= ]+%u([^0-9]|$)", co);
	ASSERT_EQ(0, regcomp(&r, pat, REG_EXTENDED | REG_NOSUB));
	EXPECT_EQ(0, regexec(&r, report, 0, NULL, 0)) TH_LOG("order %u not named", co);
	regfree(&r);
	EXPECT_NE(NULL, strstr(report, "__GFP_NORETRY")) TH_LOG("flags not decoded");
	EXPECT_NE(NULL, strstr(report, "DMA32")) TH_LOG("zone DMA32 not reported");
	if (mmlab_host_has_normal())
		EXPECT_NE(NULL, strstr(report, "Normal")) TH_LOG("zone Normal not reported");
	close(kfd);
	free(report);
	free(log);
}

/* A failed allocation is explained unless __GFP_NOWARN. */
TEST_F(mmlab, failure_explained_unless_nowarn)
{
	check_failure_report(_metadata, self, 0);
}

/*
 * The explanation is rate limited as a whole (one per 5 s), not line by
 * line: other warnings just before (refused control commands) must not
 * cut it short.
 */
TEST_F(mmlab, failure_explanation_complete_after_other_warnings)
{
	check_failure_report(_metadata, self, 12);
}

MMLAB_HARNESS_MAIN
