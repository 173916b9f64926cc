// SPDX-License-Identifier: GPL-2.0
/*
 * pcp - the per-CPU page lists (orders 0..3): "pcp high=N batch=M" shows in
 * zoneinfo for every zone and CPU, a list's count never exceeds its high,
 * pages freed to a list are in no buddyinfo column (and counted in stats'
 * pcp_pages) until "drain" returns exactly the counted pages, and a CPU
 * going offline gives its lists back (docs/debugfs.md: zoneinfo, drain, pcp).
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

/*
 * The common fixture's clean allocator (mmlab_clean() also puts the list
 * sizes back with "pcp default"), plus the zoneinfo at the start.
 */
FIXTURE(pcp) {
	int fd;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	struct mmlab_stats st;
	struct mmlab_zoneinfo zi;
};

FIXTURE_SETUP(pcp)
{
	int ret;

	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s/control: %s", mmlab_dir(),
				      strerror(-self->fd));
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&self->st, self->why, sizeof(self->why)))
		TH_LOG("stats: %s", self->why);
	ASSERT_EQ(0, mmlab_read_zoneinfo(&self->zi, self->why, sizeof(self->why)))
		TH_LOG("zoneinfo: %s", self->why);
}

FIXTURE_TEARDOWN(pcp)
{
	int ret;

	_metadata->trigger = 0;
	if (self->fd < 0)
		return;
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("teardown: %s", self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "check");
	EXPECT_EQ(0, ret) TH_LOG("teardown check: %s (%s)", strerror(-ret), self->res);
	EXPECT_STREQ("ok", self->res);
	close(self->fd);
}

#define ZI()		ZONEINFO(&self->zi)

/* Pages on every list of every zone. */
static uint64_t pcp_total(const struct mmlab_zoneinfo *zi)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < zi->nzones; i++)
		sum += mmlab_zi_pcp_pages(&zi->z[i]);
	return sum;
}

/* The first list whose count is above its high, or NULL. */
/*
 * A list above high (+ batch when slack is set), or NULL. Frees keep every
 * list at or below high (they give a batch back on reaching it); a refill
 * brings a whole batch without looking at high, as Linux's rmqueue_bulk()
 * does, so right after an allocation a list may stand up to batch above it.
 */
static const char *over_high(const struct mmlab_zoneinfo *zi, int slack, char *buf, size_t cap)
{
	unsigned int i, c;

	for (i = 0; i < zi->nzones; i++)
		for (c = 0; c < zi->z[i].ncpus; c++) {
			const struct mmlab_pageset *p = &zi->z[i].pcp[c];
			uint64_t limit = p->high + (slack ? p->batch : 0);

			if (p->count > limit) {
				snprintf(buf, cap, "zone %s cpu %u: count %" PRIu64 " > %s %" PRIu64,
					 zi->z[i].name, p->cpu, p->count,
					 slack ? "high + batch" : "high", limit);
				return buf;
			}
		}
	return NULL;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* Defaults: batch <= high, the same on every CPU of a zone. */
TEST_F(pcp, defaults_sane)
{
	unsigned int i, c;

	for (i = 0; i < self->zi.nzones; i++) {
		const struct mmlab_zi_zone *z = &self->zi.z[i];

		for (c = 0; c < z->ncpus; c++) {
			EXPECT_LT(0, z->pcp[c].batch) TH_LOG("zone %s cpu %u", z->name, c);
			EXPECT_LE(z->pcp[c].batch, z->pcp[c].high) TH_LOG("zone %s cpu %u", z->name, c);
			EXPECT_GE(4096, z->pcp[c].high) TH_LOG("zone %s cpu %u", z->name, c);
			EXPECT_EQ(z->pcp[0].high, z->pcp[c].high) TH_LOG("zone %s cpu %u", z->name, c);
			EXPECT_EQ(z->pcp[0].batch, z->pcp[c].batch) TH_LOG("zone %s cpu %u", z->name, c);
			EXPECT_EQ(0, z->pcp[c].count) TH_LOG("zone %s cpu %u: pages after drain",
							    z->name, c);
		}
	}
}

/* "pcp high=N batch=M" answers, and shows on every CPU of every zone. */
TEST_F(pcp, tunables_in_zoneinfo)
{
	static const uint64_t hb[][2] = { { 64, 8 }, { 12, 12 }, { 4096, 63 }, { 1, 1 } };
	unsigned int t, i, c;
	char want[64];
	int ret;

	for (t = 0; t < sizeof(hb) / sizeof(hb[0]); t++) {
		ret = CTL("pcp high=%" PRIu64 " batch=%" PRIu64, hb[t][0], hb[t][1]);
		ASSERT_EQ(0, ret) TH_LOG("%s (%s)", strerror(-ret), self->res);
		snprintf(want, sizeof(want), "pcp: high %" PRIu64 " batch %" PRIu64, hb[t][0],
			 hb[t][1]);
		EXPECT_STREQ(want, self->res);
		ZI();
		for (i = 0; i < self->zi.nzones; i++) {
			const struct mmlab_zi_zone *z = &self->zi.z[i];

			for (c = 0; c < z->ncpus; c++) {
				EXPECT_EQ(hb[t][0], z->pcp[c].high) TH_LOG("zone %s cpu %u", z->name, c);
				EXPECT_EQ(hb[t][1], z->pcp[c].batch) TH_LOG("zone %s cpu %u", z->name, c);
			}
		}
	}
	/* Out of range: refused, nothing changed. */
	EXPECT_EQ(-EINVAL, CTL("pcp high=4097 batch=1")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("pcp high=8 batch=9")) TH_LOG("%s", self->res);
	ZI();
	EXPECT_EQ(1, self->zi.z[0].pcp[0].high);
	EXPECT_EQ(1, self->zi.z[0].pcp[0].batch);
}

/*
 * With a small high, order 0..3 frees push the lists to high, so they must
 * give a batch back to the buddy: after a free no count is above high, and
 * after an allocation (whose refill may overshoot) none above high + batch.
 */
TEST_F(pcp, count_never_exceeds_high)
{
	enum { N = 96 };
	uint64_t handles[N], seen_max = 0, t;
	unsigned int i, o;
	struct mmlab_block b;
	char buf[256];
	const char *why;
	int ret;

	ret = CTL("pcp high=16 batch=4");
	ASSERT_EQ(0, ret) TH_LOG("%s (%s)", strerror(-ret), self->res);
	for (o = 0; o <= ORD(3); o++) {
		for (i = 0; i < N; i++) {
			ret = mmlab_alloc(self->fd, o, &b, self->res, sizeof(self->res));
			ASSERT_EQ(0, ret) TH_LOG("alloc order=%u: %s (%s)", o, strerror(-ret),
						 self->res);
			handles[i] = b.handle;
			if (i % 8 == 0) {
				ZI();
				why = over_high(&self->zi, 1, buf, sizeof(buf));
				ASSERT_EQ(NULL, why) TH_LOG("after %u allocations of order %u: %s",
							    i + 1, o, why);
			}
		}
		for (i = 0; i < N; i++) {
			ASSERT_EQ(0, CTL("free %" PRIu64, handles[i])) TH_LOG("%s", self->res);
			ZI();
			why = over_high(&self->zi, 0, buf, sizeof(buf));
			ASSERT_EQ(NULL, why) TH_LOG("after %u frees of order %u: %s", i + 1, o, why);
			t = pcp_total(&self->zi);
			if (t > seen_max)
				seen_max = t;
		}
	}
	EXPECT_LT(0, seen_max) TH_LOG("no page ever sat on a per-CPU list");
}

/*
 * Pages freed at orders 0..3 wait on the lists: buddyinfo does not show
 * them, stats counts them as pcp_pages (free + used + pcp == borrowed),
 * and "drain" returns exactly as many as zoneinfo counted, after which
 * buddyinfo has them and every count is 0.
 */
TEST_F(pcp, drain_returns_counted_pages)
{
	static const unsigned int orders[] = { 0, 0, 0, 1, 2, 3, 0, 1 };
	enum { PER = 6 };
	uint64_t handles[PER * 8], counted, bi_before, bi_after;
	unsigned int i, n = 0, ncols = self->st.chunk_order + 1, z;
	struct mmlab_buddyinfo bi;
	struct mmlab_stats s;
	struct mmlab_block b;
	char want[64];
	int ret;

	for (i = 0; i < PER * 8; i++) {
		ret = mmlab_alloc(self->fd, ORD(orders[i % 8]), &b, self->res, sizeof(self->res));
		ASSERT_EQ(0, ret) TH_LOG("%s (%s)", strerror(-ret), self->res);
		handles[n++] = b.handle;
	}
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	mmlab_settle();
	ASSERT_EQ(0, mmlab_read_buddyinfo(ncols, &bi, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	for (bi_before = 0, z = 0; z < bi.nzones; z++)
		bi_before += mmlab_bi_pages(&bi.z[z]);

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, CTL("free %" PRIu64, handles[i])) TH_LOG("%s", self->res);
	ZI();
	STATS(&s);
	counted = pcp_total(&self->zi);
	EXPECT_LT(0, counted) TH_LOG("nothing on the per-CPU lists after %u frees", n);
	EXPECT_EQ(counted, s.pcp_pages) TH_LOG("zoneinfo counts %" PRIu64 ", stats pcp_pages %"
					       PRIu64, counted, s.pcp_pages);
	EXPECT_EQ(s.host_pages, s.free_pages + s.used_pages + s.pcp_pages);
	EXPECT_EQ(0, s.used_pages);
	ASSERT_EQ(0, mmlab_read_buddyinfo(ncols, &bi, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	for (bi_after = 0, z = 0; z < bi.nzones; z++)
		bi_after += mmlab_bi_pages(&bi.z[z]);
	EXPECT_EQ(s.free_pages, bi_after) TH_LOG("buddyinfo shows pages that are on the lists");

	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "drained %" PRIu64 " pages", counted);
	EXPECT_STREQ(want, self->res);
	ZI();
	EXPECT_EQ(0, pcp_total(&self->zi));
	STATS(&s);
	EXPECT_EQ(0, s.pcp_pages);
	EXPECT_EQ(s.host_pages, s.free_pages);
	ASSERT_EQ(0, mmlab_read_buddyinfo(ncols, &bi, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	for (bi_after = 0, z = 0; z < bi.nzones; z++)
		bi_after += mmlab_bi_pages(&bi.z[z]);
	EXPECT_EQ(s.host_pages, bi_after);
	EXPECT_LE(bi_before, bi_after);
	/* Nothing left: a second drain returns nothing. */
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	EXPECT_STREQ("drained 0 pages", self->res);
}

/* high=1 batch=1: an order-0 free leaves at most one page on the list. */
TEST_F(pcp, tiny_high_keeps_lists_short)
{
	struct mmlab_block b[8];
	unsigned int i;

	ASSERT_EQ(0, CTL("pcp high=1 batch=1")) TH_LOG("%s", self->res);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, mmlab_alloc(self->fd, 0, &b[i], self->res, sizeof(self->res)))
			TH_LOG("%s", self->res);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, CTL("free %" PRIu64, b[i].handle)) TH_LOG("%s", self->res);
	ZI();
	EXPECT_GE(self->zi.nzones * (uint64_t)self->zi.z[0].ncpus, pcp_total(&self->zi));
}

/*
 * A CPU going offline gives its lists back to the buddy (mmlab's CPU
 * hotplug callback); the other CPU's lists are untouched.
 */
TEST_F_TIMEOUT(pcp, cpu_offline_drains_its_lists, 60)
{
	static const char online[] = "/sys/devices/system/cpu/cpu1/online";
	struct mmlab_block b[32];
	uint64_t cpu1 = 0, total;
	struct mmlab_stats s;
	unsigned int i, z;
	int ret;

	if (access(online, W_OK))
		SKIP(return, "%s: %s", online, strerror(errno));
	ret = pin_to_cpu(1);
	ASSERT_EQ(0, ret) TH_LOG("sched_setaffinity(cpu 1): %s", strerror(-ret));
	for (i = 0; i < 32; i++)
		ASSERT_EQ(0, mmlab_alloc(self->fd, 0, &b[i], self->res, sizeof(self->res)))
			TH_LOG("%s", self->res);
	for (i = 0; i < 32; i++)
		ASSERT_EQ(0, CTL("free %" PRIu64, b[i].handle)) TH_LOG("%s", self->res);
	ZI();
	for (z = 0; z < self->zi.nzones; z++)
		if (self->zi.z[z].ncpus > 1)
			cpu1 += self->zi.z[z].pcp[1].count;
	ASSERT_LT(0, cpu1) TH_LOG("no pages on CPU 1's lists after freeing there");

	ret = pin_to_cpu(0);
	ASSERT_EQ(0, ret) TH_LOG("sched_setaffinity(cpu 0): %s", strerror(-ret));
	ret = write_str(online, "0");
	ASSERT_EQ(0, ret) TH_LOG("offlining CPU 1: %s", strerror(-ret));
	ZI();
	ret = write_str(online, "1");
	EXPECT_EQ(0, ret) TH_LOG("onlining CPU 1: %s", strerror(-ret));
	for (z = 0; z < self->zi.nzones; z++)
		if (self->zi.z[z].ncpus > 1)
			EXPECT_EQ(0, self->zi.z[z].pcp[1].count)
				TH_LOG("zone %s: CPU 1 offline with pages on its list",
				       self->zi.z[z].name);
	total = pcp_total(&self->zi);
	STATS(&s);
	EXPECT_EQ(total, s.pcp_pages);
	EXPECT_EQ(s.host_pages, s.free_pages + s.used_pages + s.pcp_pages);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok", self->res);
}

MMLAB_HARNESS_MAIN
