// SPDX-License-Identifier: GPL-2.0
/*
 * zones - mmlab's two zones against the machine's physical memory: DMA32
 * pages lie below 4 GiB and Normal pages above it (the VM has memory on both
 * sides), zoneinfo shows both populated, a Normal request falls back to DMA32
 * when Normal is exhausted and is counted, and the lowmem reserve keeps
 * Normal requests from draining DMA32 while DMA32 requests still succeed
 * (docs/debugfs.md: zoneinfo, alloc ... zone, pressure).
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

/* Requests that must be served from DMA32, and from Normal. */
#define GFP_DMA32_KERNEL	"GFP_KERNEL|GFP_DMA32"
#define NOWARN_NORETRY		"__GFP_NORETRY|__GFP_NOWARN"

/* alloc with ARGS, parse, and check the zone named and the pfn range. */
#define ALLOC_IN(ord_, args_, zname, b) ALLOC_IN_TRIES(ord_, args_, zname, b, 1)
/*
 * ALLOC_IN, retrying an ENOMEM up to tries times 50 ms apart: a request
 * that cannot sleep cannot borrow a chunk either, so at the chunk order it
 * succeeds only once mmlab_kswapd (which the failure wakes) has borrowed a
 * whole free chunk - as an atomic caller in Linux waits for kswapd.
 */
#define ALLOC_IN_TRIES(ord_, args_, zname, b, tries_) do {			\
		int _r, _t = 0;								\
		while ((_r = mmlab_alloc_args(self->fd, (ord_), (args_), (b),	\
					      self->res, sizeof(self->res))) == -ENOMEM && \
		       ++_t < (tries_))							\
			usleep(50000);							\
		ASSERT_EQ(0, _r) TH_LOG("alloc order=%u %s: %s (%s)",			\
					(unsigned int)(ord_), (args_), strerror(-_r),	\
					self->res);					\
		EXPECT_STREQ((zname), (b)->zone) TH_LOG("alloc order=%u %s: '%s'",	\
						     (unsigned int)(ord_), (args_),	\
						     self->res);			\
		EXPECT_TRUE(mmlab_block_in_zone(b))					\
			TH_LOG("'%s': pfn 0x%" PRIx64 "..0x%" PRIx64 " is not in %s's range", \
			       self->res, (b)->pfn,					\
			       (uint64_t)((b)->pfn + (1ull << (b)->order) - 1), (b)->zone);	\
	} while (0)

static uint64_t fallbacks(const struct mmlab_zoneinfo *zi)
{
	uint64_t sum = 0, v;
	unsigned int i;

	for (i = 0; i < zi->nzones; i++)
		if (!mmlab_zi_get(&zi->z[i], "nr_alloc_fallback", &v))
			sum += v;
	return sum;
}

/*
 * The machine itself (the VM: vm-test.sh boots it with 6 GiB) has memory in
 * its ZONE_DMA32 and in a ZONE_NORMAL that starts at 4 GiB; without that
 * the Normal tests below can only skip, so this one fails.
 */
TEST(machine_has_dma32_and_normal)
{
	char *buf = malloc(MMLAB_VIEW_MAX), *p;
	unsigned long present, start;
	ssize_t n;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open("/proc/zoneinfo", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	n = read(fd, buf, MMLAB_VIEW_MAX - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	p = strstr(buf, "zone    DMA32\n");
	ASSERT_NE(NULL, p) TH_LOG("no DMA32 zone in /proc/zoneinfo");
	p = strstr(p, "present");
	ASSERT_NE(NULL, p);
	present = strtoul(p + strlen("present"), NULL, 10);
	EXPECT_LT(0, present) TH_LOG("the machine's DMA32 zone is empty");
	p = strstr(buf, "zone   Normal\n");
	ASSERT_NE(NULL, p) TH_LOG("no Normal zone in /proc/zoneinfo");
	present = strtoul(strstr(p, "present") + strlen("present"), NULL, 10);
	ASSERT_LT(0, present) TH_LOG("the machine has no memory above 4 GiB: boot the VM with "
				     "6G (vm-test.sh --mem 6G, the default)");
	p = strstr(p, "start_pfn:");
	ASSERT_NE(NULL, p);
	start = strtoul(p + strlen("start_pfn:"), NULL, 10);
	EXPECT_LE(MMLAB_PFN_4G, start) TH_LOG("ZONE_NORMAL starts at pfn 0x%lx", start);
	free(buf);
}

/*
 * zoneinfo: DMA32 then Normal, capacity shared between them, watermarks in
 * order, a lowmem reserve in DMA32 against Normal, a pageset per possible
 * CPU; nothing present after a shrink, both zones populated after one
 * allocation from each, with start_pfn on the right side of 4 GiB.
 */
TEST_F(mmlab, zoneinfo_two_populated_zones)
{
	uint64_t chunk = 1ull << self->st.chunk_order, v;
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	struct mmlab_zi_zone *dma32, *normal;
	int ncpus = mmlab_possible_cpus();
	struct mmlab_block a, b;
	unsigned int i, c;

	ASSERT_NE(NULL, zi);
	if (!mmlab_host_has_normal())
		SKIP(return, "this machine has no memory above 4 GiB (run the VM with -m 6G)");
	ZONEINFO(zi);
	ASSERT_EQ(2, zi->nzones);
	EXPECT_STREQ("DMA32", zi->z[0].name);
	EXPECT_STREQ("Normal", zi->z[1].name);
	dma32 = mmlab_zi_zone(zi, "DMA32");
	normal = mmlab_zi_zone(zi, "Normal");
	ASSERT_NE(NULL, dma32);
	ASSERT_NE(NULL, normal);

	EXPECT_EQ(self->st.capacity_pages, dma32->spanned + normal->spanned);
	for (i = 0; i < zi->nzones; i++) {
		struct mmlab_zi_zone *z = &zi->z[i];

		EXPECT_LT(0, z->spanned) TH_LOG("zone %s has no share of the capacity", z->name);
		EXPECT_EQ(0, z->spanned % chunk) TH_LOG("zone %s", z->name);
		EXPECT_EQ(0, z->present) TH_LOG("zone %s: pages present after shrink", z->name);
		EXPECT_LT(0, z->min) TH_LOG("zone %s", z->name);
		EXPECT_LE(z->min, z->low) TH_LOG("zone %s", z->name);
		EXPECT_LE(z->low, z->high) TH_LOG("zone %s", z->name);
		EXPECT_GT(z->spanned, z->high) TH_LOG("zone %s", z->name);
		ASSERT_EQ(0, mmlab_zi_get(z, "nr_free_pages", &v)) TH_LOG("zone %s", z->name);
		EXPECT_EQ(z->free, v) TH_LOG("zone %s: nr_free_pages", z->name);
		EXPECT_EQ(0, mmlab_zi_get(z, "nr_alloc_fallback", &v)) TH_LOG("zone %s", z->name);
		EXPECT_EQ(0, mmlab_zi_get(z, "nr_alloc_reserve", &v)) TH_LOG("zone %s", z->name);
		/* One protection entry per zone; none against itself. */
		ASSERT_EQ(zi->nzones, z->nprot) TH_LOG("zone %s", z->name);
		EXPECT_EQ(0, z->protection[i]) TH_LOG("zone %s", z->name);
		if (ncpus > 0)
			EXPECT_EQ((unsigned int)ncpus, z->ncpus)
				TH_LOG("zone %s: pagesets for %u CPUs, %d possible", z->name,
				       z->ncpus, ncpus);
		for (c = 0; c < z->ncpus; c++) {
			EXPECT_EQ(c, z->pcp[c].cpu) TH_LOG("zone %s", z->name);
			EXPECT_LE(z->pcp[c].batch, z->pcp[c].high) TH_LOG("zone %s", z->name);
			EXPECT_LE(z->pcp[c].count, z->pcp[c].high) TH_LOG("zone %s", z->name);
		}
	}
	/* DMA32 is protected against allocations that fall back from Normal. */
	EXPECT_LT(0, dma32->protection[1]);

	/*
	 * Normal first: while Normal is empty a default request may be served
	 * from DMA32's free pages as a fallback (as Linux's fast path does),
	 * before reclaim would borrow for Normal.
	 */
	ALLOC_IN(0, "", "Normal", &b);
	ALLOC_IN(0, "gfp=" GFP_DMA32_KERNEL, "DMA32", &a);
	mmlab_settle();
	ZONEINFO(zi);
	dma32 = mmlab_zi_zone(zi, "DMA32");
	normal = mmlab_zi_zone(zi, "Normal");
	ASSERT_NE(NULL, dma32);
	ASSERT_NE(NULL, normal);
	for (i = 0; i < zi->nzones; i++) {
		struct mmlab_zi_zone *z = &zi->z[i];

		EXPECT_LT(0, z->present) TH_LOG("zone %s not populated", z->name);
		EXPECT_LT(0, z->managed) TH_LOG("zone %s not populated", z->name);
		EXPECT_LE(z->present, z->spanned) TH_LOG("zone %s", z->name);
		EXPECT_EQ(0, z->present % chunk) TH_LOG("zone %s", z->name);
		EXPECT_LT(0, z->free + mmlab_zi_pcp_pages(z)) TH_LOG("zone %s", z->name);
	}
	EXPECT_GT(MMLAB_PFN_4G, dma32->start_pfn);
	EXPECT_LE(MMLAB_PFN_4G, normal->start_pfn);
	free(zi);
}

/*
 * Every DMA32 request (GFP_KERNEL|GFP_DMA32, GFP_DMA32 alone, GFP_ATOMIC
 * |GFP_DMA32) at every order gets pages whose last pfn is below 4 GiB, and
 * the result line says "zone DMA32".
 */
TEST_F(mmlab, dma32_pages_below_4g)
{
	static const char *const gfp[] = { GFP_DMA32_KERNEL, "GFP_DMA32",
					   "GFP_ATOMIC|GFP_DMA32", "GFP_NOWAIT|GFP_DMA32",
					   "GFP_USER|GFP_DMA32" };
	unsigned int co = self->st.chunk_order, o, g, k;
	char args[128];
	struct mmlab_block b;

	for (g = 0; g < sizeof(gfp) / sizeof(gfp[0]); g++) {
		/* GFP_ATOMIC and GFP_NOWAIT cannot borrow: see ALLOC_IN_TRIES. */
		unsigned int tries = strstr(gfp[g], "ATOMIC") || strstr(gfp[g], "NOWAIT") ? 40 : 1;

		snprintf(args, sizeof(args), "gfp=%s", gfp[g]);
		for (o = 0; o <= co; o++)
			for (k = 0; k < (o < 4 ? 8u : 1u); k++)
				ALLOC_IN_TRIES(o, args, "DMA32", &b, tries);
	}
}

/*
 * Default and every non-DMA32 request land in Normal, at or above 4 GiB.
 *
 * DMA32 is taken whole first (its entire share, with __GFP_MEMALLOC so no
 * watermark stops it): a default request that finds Normal below its low
 * watermark may otherwise fall back to DMA32 before kswapd has borrowed for
 * Normal - correct, Linux does the same, but then not what this test is
 * about (fallback_normal_to_dma32 is).
 */
TEST_F(mmlab, normal_pages_above_4g)
{
	static const char *const gfp[] = { "GFP_KERNEL", "GFP_USER", "GFP_NOFS", "GFP_NOIO",
					   "GFP_ATOMIC", "GFP_NOWAIT", "GFP_KERNEL|__GFP_ZERO" };
	unsigned int co = self->st.chunk_order, o, g, k;
	char args[128];
	struct mmlab_block b;
	int ret;

	if (!mmlab_host_has_normal())
		SKIP(return, "this machine has no memory above 4 GiB (run the VM with -m 6G)");
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res),
			"pressure consume=%llu gfp=GFP_DMA32|__GFP_MEMALLOC|__GFP_NORETRY|__GFP_NOWARN",
			(unsigned long long)self->st.capacity_pages);
	ASSERT_TRUE(ret == 0 || ret == -ENOMEM) TH_LOG("pressure on DMA32: %s", self->res);
	for (o = 0; o <= co; o++)
		for (k = 0; k < (o < 4 ? 8u : 1u); k++)
			ALLOC_IN(o, "", "Normal", &b);
	for (g = 0; g < sizeof(gfp) / sizeof(gfp[0]); g++) {
		snprintf(args, sizeof(args), "gfp=%s", gfp[g]);
		for (o = 0; o <= co; o += 3)
			ALLOC_IN(o, args, "Normal", &b);
	}
}

/*
 * Zonelist fallback: take Normal's whole share with pressure. Normal
 * requests then come from DMA32 (before reclaim: a zone below low is passed
 * over while a lower one is above low plus its protection, as in Linux),
 * and each such allocation is counted in nr_alloc_fallback. DMA32 requests
 * never come from Normal and are not fallbacks.
 */
TEST_F(mmlab, fallback_normal_to_dma32)
{
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	uint64_t share, before, after, take;
	struct mmlab_zi_zone *normal;
	struct mmlab_block b;
	unsigned int round;
	int ret, got = 0;

	ASSERT_NE(NULL, zi);
	if (!mmlab_host_has_normal())
		SKIP(return, "this machine has no memory above 4 GiB (run the VM with -m 6G)");
	ZONEINFO(zi);
	normal = mmlab_zi_zone(zi, "Normal");
	ASSERT_NE(NULL, normal);
	share = normal->spanned;
	before = fallbacks(zi);

	ret = CTL("pressure consume=%" PRIu64 " gfp=GFP_KERNEL|__GFP_NOWARN", share);
	ASSERT_EQ(0, ret) TH_LOG("pressure consume=%" PRIu64 ": %s (%s)", share,
				 strerror(-ret), self->res);
	mmlab_settle();
	ZONEINFO(zi);
	normal = mmlab_zi_zone(zi, "Normal");
	ASSERT_NE(NULL, normal);
	EXPECT_EQ(normal->spanned, normal->present) TH_LOG("Normal not fully borrowed");
	after = fallbacks(zi);
	EXPECT_LT(before, after) TH_LOG("no fallback counted while consuming Normal's share");

	/*
	 * Normal has what is left of its share; take it down below low until a
	 * default request comes from DMA32, which must be counted.
	 */
	for (round = 0; round < 8 && !got; round++) {
		mmlab_settle();
		ZONEINFO(zi);
		normal = mmlab_zi_zone(zi, "Normal");
		ASSERT_NE(NULL, normal);
		before = fallbacks(zi);
		ret = mmlab_alloc_args(self->fd, 0, "", &b, self->res, sizeof(self->res));
		ASSERT_EQ(0, ret) TH_LOG("alloc order=0: %s (%s)", strerror(-ret), self->res);
		EXPECT_TRUE(mmlab_block_in_zone(&b)) TH_LOG("%s", self->res);
		ZONEINFO(zi);
		if (!strcmp(b.zone, "DMA32")) {
			got = 1;
			EXPECT_EQ(before + 1, fallbacks(zi))
				TH_LOG("nr_alloc_fallback went from %" PRIu64 " to %" PRIu64
				       " for one fallback", before, fallbacks(zi));
			break;
		}
		EXPECT_EQ(before, fallbacks(zi)) TH_LOG("a Normal page counted as a fallback");
		take = normal->free + mmlab_zi_pcp_pages(normal) + 1;
		ret = CTL("pressure consume=%" PRIu64 " gfp=GFP_KERNEL|__GFP_NOWARN", take);
		ASSERT_EQ(0, ret) TH_LOG("pressure consume=%" PRIu64 ": %s (%s)", take,
					 strerror(-ret), self->res);
	}
	EXPECT_TRUE(got) TH_LOG("a default request never came from DMA32 with Normal's share taken");

	/* DMA32 requests are not fallbacks. */
	after = fallbacks(zi);
	ALLOC_IN(0, "gfp=" GFP_DMA32_KERNEL, "DMA32", &b);
	ZONEINFO(zi);
	EXPECT_EQ(after, fallbacks(zi)) TH_LOG("a DMA32 request counted as a fallback");
	free(zi);
}

/*
 * Lowmem reserve: Normal-preferring requests (NORETRY, so each gives up
 * after one reclaim pass) are served from DMA32 only while DMA32 keeps its
 * watermark plus the protection against Normal; once they fail, DMA32 has
 * at least that much left, and GFP_DMA32 requests still succeed from it.
 */
TEST_F(mmlab, lowmem_reserve_keeps_dma32)
{
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	struct mmlab_zi_zone *dma32, *normal;
	uint64_t reserve, have, i, n;
	unsigned int round, full;
	struct mmlab_block b;
	int ret;

	ASSERT_NE(NULL, zi);
	if (!mmlab_host_has_normal())
		SKIP(return, "this machine has no memory above 4 GiB (run the VM with -m 6G)");
	/*
	 * A request may give up while mmlab_kswapd is still borrowing a
	 * chunk for DMA32 (which then arrives free); consume again until one
	 * round has started with DMA32's whole share borrowed.
	 */
	for (round = 0, full = 0; round < 6; round++) {
		ret = CTL("pressure consume=%" PRIu64 " gfp=GFP_KERNEL|" NOWARN_NORETRY,
			  self->st.capacity_pages);
		ASSERT_EQ(-ENOMEM, ret)
			TH_LOG("consuming the whole capacity with Normal requests: %s (%s)",
			       ret ? strerror(-ret) : "succeeded", self->res);
		mmlab_settle();
		ZONEINFO(zi);
		dma32 = mmlab_zi_zone(zi, "DMA32");
		ASSERT_NE(NULL, dma32);
		if (full)
			break;
		full = dma32->present == dma32->spanned;
	}
	/* The state the last request failed in: a Normal request fails again. */
	ret = CTL("alloc order=0 gfp=GFP_KERNEL|" NOWARN_NORETRY);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("a Normal request after the reserve was reached: %s",
				       self->res);
	ZONEINFO(zi);
	dma32 = mmlab_zi_zone(zi, "DMA32");
	normal = mmlab_zi_zone(zi, "Normal");
	ASSERT_NE(NULL, dma32);
	ASSERT_NE(NULL, normal);
	ASSERT_EQ(2, dma32->nprot);
	reserve = dma32->min + dma32->protection[1];
	have = dma32->free + mmlab_zi_pcp_pages(dma32);
	TH_LOG("DMA32: free %" PRIu64 " (+%" PRIu64 " on pcp lists), min %" PRIu64
	       ", protection against Normal %" PRIu64 ", present %" PRIu64 " of %" PRIu64,
	       dma32->free, mmlab_zi_pcp_pages(dma32), dma32->min, dma32->protection[1],
	       dma32->present, dma32->spanned);
	EXPECT_LE(reserve, have)
		TH_LOG("Normal requests took DMA32 below min + protection");
	EXPECT_EQ(normal->spanned, normal->present);
	EXPECT_EQ(dma32->spanned, dma32->present)
		TH_LOG("Normal requests stopped while DMA32 could still borrow");

	/* DMA32's own requests may use the protected pages, down to min. */
	n = have > dma32->min ? have - dma32->min : 0;
	if (n > 64)
		n = 64;
	ASSERT_LT(0, n);
	for (i = 0; i < n; i++)
		ALLOC_IN(0, "gfp=" GFP_DMA32_KERNEL "|__GFP_NOWARN", "DMA32", &b);
	free(zi);
}

MMLAB_HARNESS_MAIN
