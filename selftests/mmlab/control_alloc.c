// SPDX-License-Identifier: GPL-2.0
/*
 * control_alloc - allocating and freeing through
 * /sys/kernel/debug/mmlab/control: results, handles, buddy splitting and
 * coalescing as seen in buddyinfo, bad frees (double, wrong order, unknown
 * handle) and the capacity and handle-table limits (docs/debugfs.md).
 *
 * Pages freed at orders 0..3 go to a per-CPU list first and are in no
 * buddyinfo column until "drain" puts them back, as in Linux; the layouts
 * below are read after a drain. mmlab_kswapd may borrow a chunk of its own
 * when a zone falls below its low watermark, so chunk counts are taken
 * from stats rather than assumed.
 */
#include "kselftest_harness.h"
#include <sched.h>
#include "mmlab_helpers.h"

#define ALLOC(order, b) \
	ASSERT_EQ(0, mmlab_alloc(self->fd, (order), (b), self->res, sizeof(self->res))) \
		TH_LOG("alloc order=%u: %s", (unsigned int)(order), self->res)

/*
 * Drain the per-CPU lists, let mmlab_kswapd finish, and add up the free-block
 * counts of every zone (only one zone holds chunks in these tests).
 */
static int drained_counts(int fd, unsigned int ncols, uint64_t *counts, char *why,
			  size_t whycap)
{
	struct mmlab_buddyinfo bi;
	char res[MMLAB_RESULT_MAX];
	unsigned int z, o;
	int ret;

	ret = mmlab_ctl(fd, res, sizeof(res), "drain");
	if (ret) {
		snprintf(why, whycap, "drain: %s (%.200s)", strerror(-ret), res);
		return -1;
	}
	mmlab_settle();
	if (mmlab_read_buddyinfo(ncols, &bi, why, whycap))
		return -1;
	memset(counts, 0, ncols * sizeof(*counts));
	for (z = 0; z < bi.nzones; z++)
		for (o = 0; o < ncols; o++)
			counts[o] += bi.z[z].free[o];
	return 0;
}

static void fmt_counts(const uint64_t *c, unsigned int n, char *buf, size_t cap)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < n && len < cap; i++)
		len += snprintf(buf + len, cap - len, "%" PRIu64 " ", c[i]);
}

/* alloc answers "handle H order N pfn 0xPFN"; free H answers "freed handle H order N". */
TEST_F(mmlab, alloc_free_by_handle)
{
	unsigned int o, co = self->st.chunk_order;
	struct mmlab_block b;
	char want[128];

	for (o = 0; o <= co; o++) {
		ALLOC(o, &b);
		EXPECT_EQ(0, b.pfn & ((1ull << o) - 1))
			TH_LOG("order-%u block at pfn 0x%" PRIx64 " is not naturally aligned", o, b.pfn);
		ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
		snprintf(want, sizeof(want), "freed handle %" PRIu64 " order %u", b.handle, o);
		EXPECT_STREQ(want, self->res);
	}
}

/* "free handle=H order=N" with the right order, and "free handle=H". */
TEST_F(mmlab, free_with_keys)
{
	struct mmlab_block a, b;
	char want[128];

	ALLOC(ORD(2), &a);
	ALLOC(ORD(3), &b);
	ASSERT_EQ(0, CTL("free handle=%" PRIu64 " order=%u", a.handle, ORD(2)))
		TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed handle %" PRIu64 " order %u", a.handle, ORD(2));
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("free handle=%" PRIu64, b.handle)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed handle %" PRIu64 " order %u", b.handle, ORD(3));
	EXPECT_STREQ(want, self->res);
}

/* Handles are small, increasing, and never reused while loaded. */
TEST_F(mmlab, handles_never_reused)
{
	struct mmlab_block b;
	uint64_t last = 0;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		ALLOC(ORD(i % 3), &b);
		EXPECT_LT(last, b.handle);
		EXPECT_GT(1ull << 40, b.handle) TH_LOG("handle looks like an address");
		last = b.handle;
		if (i % 2)
			ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	}
	/* A freed handle is gone. */
	EXPECT_EQ(-ENOENT, CTL("free %" PRIu64, last)) TH_LOG("%s", self->res);
}

/* gfp= takes Linux's flag names joined by '|'. */
TEST_F(mmlab, alloc_with_gfp_flags)
{
	static const char *const gfp[] = {
		"GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_NOFS",
		"GFP_USER", "GFP_KERNEL|__GFP_ZERO", "GFP_NOWAIT|__GFP_NOWARN",
		"GFP_KERNEL|__GFP_NORETRY", "GFP_ATOMIC|__GFP_HIGH",
	};
	unsigned int i, n = sizeof(gfp) / sizeof(gfp[0]);
	struct mmlab_block b;
	char want[64];
	int ret;

	for (i = 0; i < n; i++) {
		ret = CTL("alloc order=%u gfp=%s", ORD(i % 2), gfp[i]);
		ASSERT_EQ(0, ret) TH_LOG("gfp=%s: %s: %s", gfp[i], strerror(-ret), self->res);
		EXPECT_EQ(0, mmlab_parse_alloc(self->res, &b)) TH_LOG("'%s'", self->res);
	}
	ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed %u handles", n);
	EXPECT_STREQ(want, self->res);
}

/* An order above chunk_order cannot be served: EINVAL, nothing borrowed. */
TEST_F(mmlab, alloc_order_above_chunk_order)
{
	struct mmlab_stats s;

	EXPECT_EQ(-EINVAL, CTL("alloc order=%" PRIu64, self->st.chunk_order + 1))
		TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("alloc order=64")) TH_LOG("%s", self->res);
	EXPECT_NE(0, self->res[0]) TH_LOG("no reason given");
	STATS(&s);
	EXPECT_EQ(0, s.used_pages);
	EXPECT_EQ(self->st.host_chunks, s.host_chunks);
}

/*
 * Splitting and coalescing, seen in buddyinfo. From an empty allocator an
 * order-0 allocation borrows one chunk and splits it: once the per-CPU lists
 * are drained, one free block at every order 0..chunk_order-1 (plus whole
 * chunks mmlab_kswapd may have borrowed). Freeing it merges everything back
 * into blocks of chunk_order; shrink returns every chunk.
 */
TEST_F(mmlab, coalescing_in_buddyinfo)
{
	unsigned int co = self->st.chunk_order, ncols = co + 1, o;
	uint64_t c[MMLAB_MAX_ORDERS], want[MMLAB_MAX_ORDERS];
	char got_s[256], want_s[256];
	struct mmlab_stats s, s2;
	struct mmlab_block b;

	ASSERT_EQ(0, self->st.host_chunks)
		TH_LOG("%" PRIu64 " chunks still borrowed after free_all + shrink",
		       self->st.host_chunks);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	memset(want, 0, sizeof(want));
	fmt_counts(c, ncols, got_s, sizeof(got_s));
	fmt_counts(want, ncols, want_s, sizeof(want_s));
	ASSERT_STREQ(want_s, got_s) TH_LOG("free blocks with nothing borrowed");

	ALLOC(0, &b);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	STATS(&s);
	ASSERT_LE(1, s.host_chunks);
	for (o = 0; o < co; o++)
		want[o] = 1;
	want[co] = s.host_chunks - 1;
	fmt_counts(c, ncols, got_s, sizeof(got_s));
	fmt_counts(want, ncols, want_s, sizeof(want_s));
	EXPECT_STREQ(want_s, got_s) TH_LOG("after alloc order=0 from a fresh chunk");

	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	STATS(&s);
	memset(want, 0, sizeof(want));
	want[co] = s.host_chunks;
	fmt_counts(c, ncols, got_s, sizeof(got_s));
	fmt_counts(want, ncols, want_s, sizeof(want_s));
	EXPECT_STREQ(want_s, got_s) TH_LOG("after the free: one block of chunk_order per chunk");

	ASSERT_EQ(0, CTL("shrink")) TH_LOG("%s", self->res);
	snprintf(want_s, sizeof(want_s), "returned %" PRIu64 " chunks", s.host_chunks);
	EXPECT_STREQ(want_s, self->res);
	STATS(&s2);
	EXPECT_EQ(0, s2.host_chunks);
	EXPECT_EQ(0, s2.host_pages);
	EXPECT_EQ(s.host_chunks_returned + s.host_chunks, s2.host_chunks_returned);
}

/*
 * Fill one chunk with order-0 pages (all inside one naturally aligned chunk:
 * the buddy splits a new chunk only when the old one has nothing left),
 * spill into a second chunk, then free everything: every chunk coalesces
 * back to one top-order block.
 */
TEST_F(mmlab, fill_chunk_then_coalesce)
{
	unsigned int co = self->st.chunk_order, ncols = co + 1, o;
	uint64_t n = 1ull << co, i, base = 0, c[MMLAB_MAX_ORDERS];
	struct mmlab_block b;
	struct mmlab_stats s;
	char want[64];
	cpu_set_t one;

	ASSERT_EQ(0, self->st.host_chunks);
	if (self->st.capacity_pages < 2 * n)
		SKIP(return, "capacity below two chunks");
	if (n + 1 > MMLAB_MAX_HANDLES)
		SKIP(return, "a chunk holds more pages than there are handles");
	/*
	 * One CPU for the whole fill: a migration midway leaves the first
	 * chunk's pages on the old CPU's per-CPU list and the new CPU refills
	 * from the next chunk (seen on the slow KASAN debug kernel).
	 */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one)) TH_LOG("sched_setaffinity: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		ALLOC(0, &b);
		if (!i)
			base = b.pfn & ~(n - 1);
		ASSERT_EQ(base, b.pfn & ~(n - 1))
			TH_LOG("page %" PRIu64 " (pfn 0x%" PRIx64 ") outside the first chunk at 0x%" PRIx64,
			       i, b.pfn, base);
	}
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	STATS(&s);
	EXPECT_EQ(n, s.used_pages);
	EXPECT_EQ(0, s.pcp_pages) TH_LOG("pages on per-CPU lists after drain");
	EXPECT_EQ(s.host_pages - n, s.free_pages);
	/* Whatever else is free is whole chunks (borrowed ahead by kswapd). */
	for (o = 0; o < co; o++)
		EXPECT_EQ(0, c[o]) TH_LOG("order %u has free blocks next to a full chunk", o);
	EXPECT_EQ(s.host_chunks - 1, c[co]);

	ALLOC(0, &b);
	EXPECT_NE(base, b.pfn & ~(n - 1)) TH_LOG("page %" PRIu64 " beyond a full chunk", n);
	STATS(&s);
	EXPECT_LE(2, s.host_chunks);

	ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed %" PRIu64 " handles", n + 1);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	STATS(&s);
	for (o = 0; o < co; o++)
		EXPECT_EQ(0, c[o]) TH_LOG("order %u not coalesced", o);
	EXPECT_EQ(s.host_chunks, c[co]);
	ASSERT_EQ(0, CTL("shrink")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "returned %" PRIu64 " chunks", s.host_chunks);
	EXPECT_STREQ(want, self->res);
}

/*
 * Two order-4 blocks from a fresh chunk are buddies; freeing both merges
 * them. Order 4 is above the per-CPU lists (0..3), so this is the buddy
 * allocator alone.
 */
TEST_F(mmlab, buddies_merge)
{
	unsigned int co = self->st.chunk_order, ncols = co + 1, o = 4;
	uint64_t c[MMLAB_MAX_ORDERS];
	struct mmlab_block a, b;
	struct mmlab_stats s;

	if (co < o + 1)
		SKIP(return, "chunk_order %u has no order-%u buddies", co, o);
	ALLOC(o, &a);
	ALLOC(o, &b);
	EXPECT_EQ(a.pfn ^ (1ull << o), b.pfn)
		TH_LOG("pfns 0x%" PRIx64 " and 0x%" PRIx64 " are not buddies", a.pfn, b.pfn);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(0, c[o]);
	ASSERT_EQ(0, CTL("free %" PRIu64, a.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(1, c[o]) TH_LOG("a lone free block while its buddy is allocated");
	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, drained_counts(self->fd, ncols, c, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
	STATS(&s);
	EXPECT_EQ(0, c[o]);
	EXPECT_EQ(s.host_chunks, c[co]);
}

/* free_pfn frees a block once; the second time is a double free: EINVAL. */
TEST_F(mmlab, double_free_pfn_rejected)
{
	struct mmlab_stats s;
	struct mmlab_block b;
	char want[128];
	int ret;

	ALLOC(ORD(1), &b);
	ret = CTL("free_pfn pfn=0x%" PRIx64 " order=%u", b.pfn, b.order);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", strerror(-ret), self->res);
	snprintf(want, sizeof(want), "freed pfn 0x%" PRIx64 " order %u", b.pfn, b.order);
	EXPECT_STREQ(want, self->res);
	STATS(&s);
	EXPECT_EQ(0, s.used_pages);

	EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=%u", b.pfn, b.order))
		TH_LOG("double free: %s", self->res);
	EXPECT_NE(0, self->res[0]) TH_LOG("no reason given");
	/* Its handle cannot free it again either. */
	ret = CTL("free %" PRIu64, b.handle);
	EXPECT_TRUE(ret == -ENOENT || ret == -EINVAL)
		TH_LOG("free of a handle whose block was freed by pfn: %d (%s)", ret, self->res);
	STATS(&s);
	EXPECT_EQ(0, s.used_pages);
	EXPECT_EQ(s.host_pages, s.free_pages + s.pcp_pages);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok", self->res);
}

/* A free with the wrong order is refused and the handle is kept. */
TEST_F(mmlab, wrong_order_free_rejected)
{
	unsigned int o = ORD(2);
	struct mmlab_stats s;
	struct mmlab_block b;
	char want[128];

	ALLOC(o, &b);
	if (o > 0) {
		EXPECT_EQ(-EINVAL, CTL("free handle=%" PRIu64 " order=%u", b.handle, o - 1))
			TH_LOG("%s", self->res);
		EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=%u", b.pfn, o - 1))
			TH_LOG("%s", self->res);
	}
	EXPECT_EQ(-EINVAL, CTL("free handle=%" PRIu64 " order=%u", b.handle, o + 1))
		TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=%u", b.pfn, o + 1))
		TH_LOG("%s", self->res);
	STATS(&s);
	EXPECT_EQ(1ull << o, s.used_pages) TH_LOG("a refused free changed the allocator");
	EXPECT_EQ(1, s.control_handles);
	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("handle not kept: %s", self->res);
	snprintf(want, sizeof(want), "freed handle %" PRIu64 " order %u", b.handle, o);
	EXPECT_STREQ(want, self->res);
}

/* free_pfn of a page inside a block (not its head) or of an unmanaged pfn. */
TEST_F(mmlab, free_pfn_not_a_block_head)
{
	unsigned int o = ORD(2);
	struct mmlab_stats s;
	struct mmlab_block b, f;

	ALLOC(o, &b);
	ALLOC(0, &f);
	if (o >= 1)
		EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=0", b.pfn + 1))
			TH_LOG("%s", self->res);
	if (o >= 2)
		EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=1", b.pfn + 2))
			TH_LOG("%s", self->res);
	/* A free page of a managed chunk is not allocated. */
	if (self->st.chunk_order >= 1 && o < self->st.chunk_order)
		EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x%" PRIx64 " order=0", f.pfn ^ 1))
			TH_LOG("%s", self->res);
	/* pfn 0 and the last pfn are never managed. */
	EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0x0 order=0")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("free_pfn pfn=0xfffffffffffff order=0")) TH_LOG("%s", self->res);
	STATS(&s);
	EXPECT_EQ((1ull << o) + 1, s.used_pages);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
}

/* Unknown handles: ENOENT. */
TEST_F(mmlab, unknown_handle_enoent)
{
	struct mmlab_block b;

	EXPECT_EQ(-ENOENT, CTL("free 999999")) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOENT, CTL("free handle=424242")) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOENT, CTL("free 18446744073709551615")) TH_LOG("%s", self->res);
	EXPECT_NE(0, self->res[0]) TH_LOG("no reason given");
	ALLOC(0, &b);
	EXPECT_EQ(-ENOENT, CTL("free %" PRIu64, b.handle + 1)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOENT, CTL("free %" PRIu64, b.handle)) TH_LOG("second free: %s", self->res);
}

/*
 * Allocate top-order blocks until the capacity is reached: at most
 * capacity_pages / 2^chunk_order succeed (fewer when the lowmem reserve keeps
 * DMA32's last chunk from a Normal request), then ENOMEM (counted as a
 * failure); free_all and shrink give everything back.
 */
TEST_F(mmlab, capacity_enomem)
{
	unsigned int co = self->st.chunk_order;
	uint64_t max = self->st.capacity_pages >> co, n = 0;
	struct mmlab_stats s;
	struct mmlab_block b;
	char want[64];
	int ret = 0;

	if (max >= MMLAB_MAX_HANDLES)
		SKIP(return, "capacity of %" PRIu64 " chunks exceeds the handle table", max);
	while (n <= max) {
		ret = CTL("alloc order=%u", co);
		if (ret)
			break;
		ASSERT_EQ(0, mmlab_parse_alloc(self->res, &b)) TH_LOG("'%s'", self->res);
		n++;
	}
	ASSERT_EQ(-ENOMEM, ret) TH_LOG("after %" PRIu64 " of %" PRIu64 " chunks: %s (%s)",
				      n, max, strerror(-ret), self->res);
	EXPECT_NE(0, self->res[0]) TH_LOG("no reason given");
	/* The guest may run out before mmlab's capacity; that is still ENOMEM. */
	EXPECT_LE(n, max);
	if (n < max)
		TH_LOG("host memory ran out after %" PRIu64 " of %" PRIu64 " chunks", n, max);
	STATS(&s);
	EXPECT_EQ(n << co, s.used_pages);
	EXPECT_EQ(self->st.failures[co] + 1, s.failures[co]);
	EXPECT_LE(s.host_pages, s.capacity_pages);
	if (n == max)
		EXPECT_EQ(-ENOMEM, CTL("alloc order=0")) TH_LOG("%s", self->res);

	ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed %" PRIu64 " handles", n);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	mmlab_settle();
	STATS(&s);
	EXPECT_LE(n, s.host_chunks);
	ASSERT_EQ(0, CTL("shrink")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "returned %" PRIu64 " chunks", s.host_chunks);
	EXPECT_STREQ(want, self->res);
	STATS(&s);
	EXPECT_EQ(0, s.host_chunks);
}

/* At most 4096 live control handles: the next allocation is ENOSPC. */
TEST_F(mmlab, handle_table_enospc)
{
	uint64_t i;
	struct mmlab_block b;
	char want[64];

	if (self->st.capacity_pages <= MMLAB_MAX_HANDLES)
		SKIP(return, "capacity below %d pages", MMLAB_MAX_HANDLES + 1);
	for (i = 0; i < MMLAB_MAX_HANDLES; i++)
		ALLOC(0, &b);
	EXPECT_EQ(-ENOSPC, CTL("alloc order=0")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, b.handle)) TH_LOG("%s", self->res);
	ALLOC(0, &b);
	ASSERT_EQ(0, CTL("free_all")) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed %d handles", MMLAB_MAX_HANDLES);
	EXPECT_STREQ(want, self->res);
}

/* Each open file keeps the result of its own last command. */
TEST_F(mmlab, result_per_open_file)
{
	static const char alloc_cmd[] = "alloc order=0\n", check_cmd[] = "check\n";
	char res2[MMLAB_RESULT_MAX];
	struct mmlab_block b;
	ssize_t n;
	int fd2;

	fd2 = mmlab_ctl_open();
	ASSERT_LE(0, fd2);
	/* Command on ours, then another on fd2, then read ours. */
	ASSERT_EQ((ssize_t)strlen(alloc_cmd), write(self->fd, alloc_cmd, strlen(alloc_cmd)));
	ASSERT_EQ(0, mmlab_ctl_write(fd2, check_cmd, strlen(check_cmd), res2, sizeof(res2)));
	EXPECT_STREQ("ok", res2);
	n = read(self->fd, self->res, sizeof(self->res) - 1);
	ASSERT_LT(0, n);
	self->res[n] = '\0';
	if (n && self->res[n - 1] == '\n')
		self->res[n - 1] = '\0';
	EXPECT_EQ(0, mmlab_parse_alloc(self->res, &b)) TH_LOG("'%s'", self->res);
	close(fd2);
}

MMLAB_HARNESS_MAIN
