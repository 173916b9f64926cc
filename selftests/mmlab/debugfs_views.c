// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs_views - the read-only views of /sys/kernel/debug/mmlab/:
 * buddyinfo in exactly /proc/buddyinfo's format (one line per zone, DMA32
 * then Normal), stats and zoneinfo in their documented formats, and the
 * invariants that tie them together (docs/debugfs.md). Pages on per-CPU
 * lists are neither free (buddy) nor used: free + used + pcp == borrowed.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

/* Orders to allocate in the tests that want a non-trivial state. */
static const unsigned int some_orders[] = { 0, 1, 2, 3, 0, 5 };
#define NR_SOME (sizeof(some_orders) / sizeof(some_orders[0]))

/* buddyinfo: one line per zone, "Node %d, zone %8s " + "%6lu " per order. */
TEST_F(mmlab, buddyinfo_format)
{
	unsigned int ncols = self->st.chunk_order + 1, i, round;
	struct mmlab_buddyinfo bi;
	struct mmlab_block b;
	char text[8192], re[128], *line, *save;

	/* Empty allocator, then one with blocks split at several orders. */
	for (round = 0; round < 2; round++) {
		if (round == 1) {
			for (i = 0; i < NR_SOME; i++)
				ASSERT_EQ(0, mmlab_alloc(self->fd, ORD(some_orders[i]), &b,
							 self->res, sizeof(self->res)))
					TH_LOG("alloc order=%u: %s", ORD(some_orders[i]), self->res);
		}
		ASSERT_LT(0, mmlab_read_file("buddyinfo", text, sizeof(text)));
		ASSERT_EQ(0, mmlab_parse_buddyinfo(text, ncols, &bi, self->why,
						   sizeof(self->why)))
			TH_LOG("%s", self->why);
		ASSERT_NE(NULL, mmlab_normal(&bi))
			TH_LOG("no 'Node 0, zone   Normal' line in:\n%s", text);
		/* Linux's order: DMA32, then Normal. */
		ASSERT_EQ(2, bi.nzones) TH_LOG("zones in:\n%s", text);
		EXPECT_STREQ("DMA32", bi.z[0].zone);
		EXPECT_STREQ("Normal", bi.z[1].zone);
		EXPECT_EQ(0, bi.z[0].node);
		EXPECT_EQ(0, bi.z[1].node);

		/* The Normal line, against the regex of the specification. */
		snprintf(re, sizeof(re), "^Node 0, zone {3}Normal( +[0-9]+ ){%u}$", ncols);
		for (line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strstr(line, "Normal"))
				EXPECT_TRUE(mmlab_match(re, line))
					TH_LOG("'%s' !~ /%s/", line, re);
		}
	}
}

/* The column count follows chunk_order, and no column is beyond it. */
TEST_F(mmlab, buddyinfo_columns_match_chunk_order)
{
	unsigned int ncols = self->st.chunk_order + 1;
	struct mmlab_buddyinfo bi;
	char text[8192];

	ASSERT_GE(10, self->st.chunk_order) TH_LOG("chunk_order above MMLAB_MAX_CHUNK_ORDER");
	ASSERT_LT(0, mmlab_read_file("buddyinfo", text, sizeof(text)));
	/* One column more or less must not parse. */
	EXPECT_NE(0, mmlab_parse_buddyinfo(text, ncols + 1, &bi, self->why, sizeof(self->why)));
	EXPECT_NE(0, mmlab_parse_buddyinfo(text, ncols - 1, &bi, self->why, sizeof(self->why)));
	ASSERT_EQ(0, mmlab_parse_buddyinfo(text, ncols, &bi, self->why, sizeof(self->why)))
		TH_LOG("%s", self->why);
}

/* stats: every documented key, the per-order table, and its invariants. */
TEST_F(mmlab, stats_consistency)
{
	const struct mmlab_stats *s0 = &self->st;
	uint64_t chunk = 1ull << s0->chunk_order, want_used = 0;
	struct mmlab_block b[NR_SOME];
	struct mmlab_stats s;
	unsigned int i, o;

	/* Static relations. */
	EXPECT_EQ(0, s0->capacity_pages % chunk)
		TH_LOG("capacity_pages %" PRIu64 " not a multiple of the chunk (%" PRIu64 ")",
		       s0->capacity_pages, chunk);
	EXPECT_LE(chunk, s0->capacity_pages);
	EXPECT_EQ(0, s0->used_pages) TH_LOG("pages in use after free_all");
	EXPECT_EQ(0, s0->control_handles);

	for (i = 0; i <= NR_SOME; i++) {
		if (i < NR_SOME) {
			ASSERT_EQ(0, mmlab_alloc(self->fd, ORD(some_orders[i]), &b[i],
						 self->res, sizeof(self->res)))
				TH_LOG("alloc order=%u: %s", ORD(some_orders[i]), self->res);
			want_used += 1ull << ORD(some_orders[i]);
		}
		STATS(&s);
		EXPECT_EQ(s.host_pages, s.free_pages + s.used_pages + s.pcp_pages)
			TH_LOG("free_pages %" PRIu64 " + used_pages %" PRIu64 " + pcp_pages %" PRIu64
			       " != host_pages %" PRIu64,
			       s.free_pages, s.used_pages, s.pcp_pages, s.host_pages);
		EXPECT_EQ(s.host_chunks << s.chunk_order, s.host_pages);
		EXPECT_EQ(s.host_chunks, s.host_chunks_borrowed - s.host_chunks_returned);
		EXPECT_LE(s.host_pages, s.capacity_pages);
		EXPECT_EQ(want_used, s.used_pages);
		EXPECT_EQ(i < NR_SOME ? i + 1 : NR_SOME, s.control_handles);
		EXPECT_EQ(s0->chunk_order, s.chunk_order);
		EXPECT_EQ(s0->capacity_pages, s.capacity_pages);
	}

	/* Per-order counters moved by exactly what we did. */
	for (o = 0; o <= s.chunk_order; o++) {
		uint64_t n = 0;

		for (i = 0; i < NR_SOME; i++)
			n += ORD(some_orders[i]) == o;
		EXPECT_EQ(s0->allocs[o] + n, s.allocs[o]) TH_LOG("allocs[%u]", o);
		EXPECT_EQ(s0->frees[o], s.frees[o]) TH_LOG("frees[%u]", o);
	}

	for (i = 0; i < NR_SOME; i++) {
		ASSERT_EQ(0, CTL("free %" PRIu64, b[i].handle)) TH_LOG("%s", self->res);
	}
	STATS(&s);
	EXPECT_EQ(0, s.used_pages);
	EXPECT_EQ(0, s.control_handles);
	EXPECT_EQ(s.host_pages, s.free_pages + s.pcp_pages);
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	STATS(&s);
	EXPECT_EQ(0, s.pcp_pages);
	EXPECT_EQ(s.host_pages, s.free_pages);
	for (o = 0; o <= s.chunk_order; o++) {
		uint64_t n = 0;

		for (i = 0; i < NR_SOME; i++)
			n += ORD(some_orders[i]) == o;
		EXPECT_EQ(s0->frees[o] + n, s.frees[o]) TH_LOG("frees[%u]", o);
		EXPECT_EQ(s0->failures[o], s.failures[o]) TH_LOG("failures[%u]", o);
	}
}

/*
 * Free blocks in buddyinfo add up to stats' free_pages (pages on per-CPU
 * lists are in neither), and each zone's row to zoneinfo's "pages free".
 */
TEST_F(mmlab, buddyinfo_adds_up_to_free_pages)
{
	unsigned int ncols = self->st.chunk_order + 1, i, z, o;
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	struct mmlab_buddyinfo bi;
	struct mmlab_block b;
	struct mmlab_stats s;

	ASSERT_NE(NULL, zi);
	for (i = 0; i <= NR_SOME; i++) {
		uint64_t sum = 0;

		if (i < NR_SOME)
			ASSERT_EQ(0, mmlab_alloc(self->fd, ORD(some_orders[i]), &b,
						 self->res, sizeof(self->res)))
				TH_LOG("%s", self->res);
		mmlab_settle();
		ASSERT_EQ(0, mmlab_read_buddyinfo(ncols, &bi, self->why, sizeof(self->why)))
			TH_LOG("%s", self->why);
		STATS(&s);
		ZONEINFO(zi);
		for (z = 0; z < bi.nzones; z++) {
			const struct mmlab_zi_zone *zz = mmlab_zi_zone(zi, bi.z[z].zone);

			ASSERT_NE(NULL, zz) TH_LOG("zone %s not in zoneinfo", bi.z[z].zone);
			EXPECT_EQ(zz->free, mmlab_bi_pages(&bi.z[z]))
				TH_LOG("zone %s: zoneinfo 'pages free' %" PRIu64 ", buddyinfo %" PRIu64,
				       bi.z[z].zone, zz->free, mmlab_bi_pages(&bi.z[z]));
		}
		for (z = 0; z < bi.nzones; z++)
			for (o = 0; o < ncols; o++)
				sum += bi.z[z].free[o] << o;
		EXPECT_EQ(s.free_pages, sum)
			TH_LOG("buddyinfo holds %" PRIu64 " free pages, stats says %" PRIu64,
			       sum, s.free_pages);
	}
	free(zi);
}

/* The views read the same in small pieces as in one go (seq_file). */
TEST_F(mmlab, views_read_in_pieces)
{
	static const char *const views[] = { "buddyinfo", "stats", "zoneinfo" };
	char whole[16384], pieces[16384], path[512];
	struct mmlab_block b;
	unsigned int v;
	size_t len;
	ssize_t n;
	int fd;

	ASSERT_EQ(0, mmlab_alloc(self->fd, ORD(1), &b, self->res, sizeof(self->res)))
		TH_LOG("%s", self->res);
	/*
	 * mmlab_kswapd may borrow a chunk between the two reads, a real change;
	 * so compare again (a few times) until both reads saw the same state.
	 */
	for (v = 0; v < sizeof(views) / sizeof(views[0]); v++) {
		unsigned int attempt;

		for (attempt = 0; attempt < 10; attempt++) {
			mmlab_settle();
			ASSERT_LT(0, mmlab_read_file(views[v], whole, sizeof(whole)));
			mmlab_path(path, sizeof(path), views[v]);
			fd = open(path, O_RDONLY);
			ASSERT_LE(0, fd);
			len = 0;
			while ((n = read(fd, pieces + len, 7)) > 0 && len + 8 < sizeof(pieces))
				len += n;
			close(fd);
			ASSERT_LE(0, n);
			pieces[len] = '\0';
			if (!strcmp(whole, pieces))
				break;
		}
		EXPECT_STREQ(whole, pieces) TH_LOG("%s", views[v]);
	}
}

/* "check" answers "ok" on a fresh and on a busy allocator. */
TEST_F(mmlab, check_ok)
{
	struct mmlab_block b;
	unsigned int i;
	int ret;

	ret = CTL("check");
	ASSERT_EQ(0, ret) TH_LOG("check: %s: %s", strerror(-ret), self->res);
	ASSERT_STREQ("ok", self->res);
	for (i = 0; i < NR_SOME; i++)
		ASSERT_EQ(0, mmlab_alloc(self->fd, ORD(some_orders[i]), &b, self->res,
					 sizeof(self->res)))
			TH_LOG("%s", self->res);
	ret = CTL("check");
	ASSERT_EQ(0, ret) TH_LOG("check: %s: %s", strerror(-ret), self->res);
	ASSERT_STREQ("ok", self->res);
}

MMLAB_HARNESS_MAIN
