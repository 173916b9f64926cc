// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc - vmalloc/vzalloc/vfree and kvmalloc/kvfree through the control
 * file, the vmallocinfo view and the vmalloc_* / kvmalloc_* stats keys
 * (docs/debugfs.md).
 *
 * kvmalloc's choice is Linux's kvmalloc_node: up to a page, or when a
 * physically contiguous block is to be had quickly, kmalloc; a size no
 * kmalloc can serve (above one chunk) goes to vmalloc.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

/* "object O pages P size S": O, with P checked against ceil(S / 4096). */
static int64_t parse_area(const char *res, uint64_t size)
{
	unsigned long id, pages, sz;
	char again[128];

	if (!mmlab_match("^object [1-9][0-9]* pages [0-9]+ size [0-9]+$", res) ||
	    sscanf(res, "object %lu pages %lu size %lu", &id, &pages, &sz) != 3)
		return -1;
	snprintf(again, sizeof(again), "object %lu pages %lu size %lu", id, pages, sz);
	if (strcmp(again, res) || sz != size || pages != (size + 4095) / 4096)
		return -1;
	return (int64_t)id;
}

/* "object O size S via kmalloc|vmalloc": O and the way in *via. */
static int64_t parse_kv(const char *res, uint64_t size, char *via, size_t cap)
{
	unsigned long id, sz;
	char how[16];

	if (!mmlab_match("^object [1-9][0-9]* size [0-9]+ via (kmalloc|vmalloc)$", res) ||
	    sscanf(res, "object %lu size %lu via %15s", &id, &sz, how) != 3 || sz != size)
		return -1;
	snprintf(via, cap, "%s", how);
	return (int64_t)id;
}

/*
 * vmallocinfo, strictly: every line "<id> <size> <caller> pages=<n> vmalloc"
 * with size == n * 4096. The number of lines, the pages of area id (0 if
 * absent) in *pages; -1 and why for a malformed view.
 */
static int vmallocinfo(uint64_t id, uint64_t *pages, char *why, size_t whycap)
{
	char *buf = mmlab_read_view("vmallocinfo", why, whycap), line[512];
	const char *text = buf;
	unsigned long lid, size, n;
	int r, lines = 0, off;

	if (!buf)
		return -1;
	*pages = 0;
	while ((r = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (!mmlab_match("^[1-9][0-9]* +[0-9]+ [^ ].* pages=[0-9]+ vmalloc$", line) ||
		    sscanf(line, "%lu %lu %n", &lid, &size, &off) != 2 ||
		    !strstr(line, " pages=") ||
		    sscanf(strstr(line, " pages=") + 7, "%lu", &n) != 1 || size != n * 4096) {
			snprintf(why, whycap, "bad line '%.160s'", line);
			free(buf);
			return -1;
		}
		if (strstr(line, "0x") && !strstr(line, "+0x")) {
			snprintf(why, whycap, "raw address in '%.160s'", line);
			free(buf);
			return -1;
		}
		if (lid == id)
			*pages = n;
		lines++;
	}
	free(buf);
	if (r < 0) {
		snprintf(why, whycap, "overlong or unterminated line");
		return -1;
	}
	return lines;
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

TEST_F(mmlab, vmalloc_vfree_and_vmallocinfo)
{
	int64_t a, b;
	uint64_t pages;
	char want[64];

	ASSERT_EQ(0, CTL("vmalloc size=10000")) TH_LOG("%s", self->res);
	a = parse_area(self->res, 10000);
	ASSERT_LT(0, a) TH_LOG("result '%s'", self->res);
	ASSERT_EQ(0, CTL("vzalloc size=40960")) TH_LOG("%s", self->res);
	b = parse_area(self->res, 40960);
	ASSERT_LT(0, b) TH_LOG("result '%s'", self->res);
	EXPECT_EQ(2, vmallocinfo(~0ull, &pages, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	EXPECT_EQ(2, stat_of("vmalloc_areas"));
	EXPECT_EQ(13, stat_of("vmalloc_pages"));

	ASSERT_EQ(0, CTL("vfree object=%" PRId64, a)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed object %" PRId64, a);
	EXPECT_STREQ(want, self->res);
	EXPECT_EQ(1, vmallocinfo(~0ull, &pages, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	EXPECT_EQ(-ENOENT, CTL("vfree object=%" PRId64, a)) TH_LOG("double vfree: %s", self->res);
	EXPECT_EQ(-EINVAL, CTL("kvfree object=%" PRId64, b)) TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "free it with vfree")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("vfree %" PRId64, b)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, vmallocinfo(~0ull, &pages, self->why, sizeof(self->why)));
	EXPECT_EQ(0, stat_of("vmalloc_areas"));
}

/* vzalloc'ed memory reads back as zeros (obj_check, from the slab commands). */
TEST_F(mmlab, vzalloc_is_zeroed)
{
	int64_t a;
	int ret;

	/* Dirty some pages first, through an area that is then freed. */
	ASSERT_EQ(0, CTL("vmalloc size=65536"));
	a = parse_area(self->res, 65536);
	ASSERT_LT(0, a);
	ret = CTL("obj_fill object=%" PRId64 " byte=0xa7", a);
	if (ret == -EINVAL && strstr(self->res, "unknown command"))
		SKIP(return, "no obj_fill command in this build");
	ASSERT_EQ(0, ret) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("obj_check object=%" PRId64 " byte=0xa7", a)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("vfree object=%" PRId64, a));
	ASSERT_EQ(0, CTL("vzalloc size=65536"));
	a = parse_area(self->res, 65536);
	ASSERT_LT(0, a);
	EXPECT_EQ(0, CTL("obj_check object=%" PRId64 " byte=0", a)) TH_LOG("%s", self->res);
}

TEST_F(mmlab, vmalloc_refusals_and_failure)
{
	uint64_t cap_bytes = self->st.capacity_pages * 4096, used;
	struct mmlab_stats s;

	EXPECT_EQ(-EINVAL, CTL("vmalloc size=0"));
	EXPECT_EQ(-EINVAL, CTL("vmalloc size=%" PRIu64, cap_bytes + 1));
	EXPECT_EQ(-EINVAL, CTL("vmalloc"));
	EXPECT_EQ(-EINVAL, CTL("vmalloc size=10 gfp=BOGUS"));
	/* Half the capacity held: the whole capacity cannot be had; nothing leaks. */
	ASSERT_EQ(0, CTL("pressure consume=%" PRIu64, self->st.capacity_pages / 2))
		TH_LOG("%s", self->res);
	mmlab_settle();
	STATS(&s);
	used = s.used_pages;
	EXPECT_EQ(-ENOMEM, CTL("vmalloc size=%" PRIu64 " gfp=GFP_KERNEL|__GFP_NOWARN", cap_bytes));
	EXPECT_NE(NULL, strstr(self->res, "allocation failure")) TH_LOG("%s", self->res);
	STATS(&s);
	EXPECT_EQ(used, s.used_pages) TH_LOG("every page taken is given back");
	EXPECT_LE(1, stat_of("vmalloc_failures"));
}

TEST_F(mmlab, kvmalloc_chooses_kmalloc_or_vmalloc)
{
	uint64_t chunk = 4096ull << self->st.chunk_order;
	char via[16];
	int64_t o;
	int ret;

	/* Larger than any kmalloc (one chunk): vmalloc. */
	ASSERT_EQ(0, CTL("kvmalloc size=%" PRIu64, chunk + 1)) TH_LOG("%s", self->res);
	o = parse_kv(self->res, chunk + 1, via, sizeof(via));
	ASSERT_LT(0, o) TH_LOG("'%s'", self->res);
	EXPECT_STREQ("vmalloc", via);
	EXPECT_EQ(0, CTL("kvfree object=%" PRId64, o)) TH_LOG("%s", self->res);

	/* Up to a page: kmalloc, when the slab layer is there. */
	ret = CTL("kvmalloc size=100");
	if (ret == -ENOMEM)
		SKIP(return, "kmalloc not available in this build: %.120s", self->res);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->res);
	o = parse_kv(self->res, 100, via, sizeof(via));
	ASSERT_LT(0, o);
	EXPECT_STREQ("kmalloc", via);
	EXPECT_EQ(0, CTL("kvfree object=%" PRId64, o));
	/* Above a page with contiguous memory free: still kmalloc (it is tried first). */
	ASSERT_EQ(0, CTL("kvmalloc size=20000")) TH_LOG("%s", self->res);
	o = parse_kv(self->res, 20000, via, sizeof(via));
	ASSERT_LT(0, o);
	EXPECT_STREQ("kmalloc", via);
	EXPECT_EQ(0, CTL("kvfree object=%" PRId64, o));
	EXPECT_LE(2, stat_of("kvmalloc_kmalloc"));
	EXPECT_LE(1, stat_of("kvmalloc_vmalloc"));
}

MMLAB_HARNESS_MAIN
