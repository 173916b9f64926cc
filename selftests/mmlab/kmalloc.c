// SPDX-License-Identifier: GPL-2.0
/*
 * kmalloc - the kmalloc family through /sys/kernel/debug/mmlab/control
 * (docs/debugfs.md): the size classes (8 ... 8192 with 96 and 192), large
 * kmallocs as page blocks, kmalloc(0), krealloc keeping contents across
 * classes and into pages, kmalloc_array overflow, wrong-kind frees, and
 * the stats lines of the slab layer.
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"

static const unsigned int classes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048,
					4096, 8192 };

static const char *class_name(unsigned int c, char *buf, size_t cap)
{
	if (c >= 1024)
		snprintf(buf, cap, "kmalloc-%uk", c / 1024);
	else
		snprintf(buf, cap, "kmalloc-%u", c);
	return buf;
}

static unsigned int want_class(unsigned int size)
{
	unsigned int i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (size <= classes[i])
			return classes[i];
	return 0;
}

/* "object <id> size <N> ksize <K> cache <name>[ tail]": id, or -1. */
static int64_t parse_kmalloc(const char *res, uint64_t size, uint64_t ksize, const char *cache,
			     const char *tail)
{
	char want[256];
	uint64_t id;

	if (sscanf(res, "object %" SCNu64, &id) != 1)
		return -1;
	snprintf(want, sizeof(want), "object %" PRIu64 " size %" PRIu64 " ksize %" PRIu64
		 " cache %s%s", id, size, ksize, cache, tail);
	return strcmp(want, res) ? -1 : (int64_t)id;
}

/* Sizes around every class boundary, and a stride through the rest. */
TEST_F(mmlab, size_classes)
{
	unsigned int size, c, i;
	char name[32];
	int64_t id;

	for (size = 1; size <= 8192; size += (size < 256 ? 1 : 61)) {
		c = want_class(size);
		ASSERT_EQ(0, CTL("kmalloc size=%u", size)) TH_LOG("%s", self->res);
		id = parse_kmalloc(self->res, size, c, class_name(c, name, sizeof(name)), "");
		ASSERT_LE(0, id) TH_LOG("size %u: '%s'", size, self->res);
		ASSERT_EQ(0, CTL("kfree %" PRId64, id)) TH_LOG("%s", self->res);
	}
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		for (size = classes[i] - 1; size <= classes[i] + 1 && size <= 8192; size++) {
			c = want_class(size);
			ASSERT_EQ(0, CTL("kmalloc size=%u", size)) TH_LOG("%s", self->res);
			id = parse_kmalloc(self->res, size, c, class_name(c, name, sizeof(name)), "");
			ASSERT_LE(0, id) TH_LOG("size %u: '%s'", size, self->res);
			ASSERT_EQ(0, CTL("obj_fill object=%" PRId64 " byte=0x33", id));
			ASSERT_EQ(0, CTL("kfree object=%" PRId64, id)) TH_LOG("%s", self->res);
		}
	}
}

TEST_F(mmlab, large_and_zero)
{
	struct mmlab_stats s;
	uint64_t pages;
	int64_t id;

	ASSERT_EQ(0, CTL("kmalloc size=8193")) TH_LOG("%s", self->res);
	id = parse_kmalloc(self->res, 8193, 16384, "pages order 2", "");
	ASSERT_LE(0, id) TH_LOG("'%s'", self->res);
	STATS(&s);
	ASSERT_EQ(0, mmlab_stats_get(&s, "kmalloc_large_pages", &pages));
	EXPECT_EQ(4, pages);
	ASSERT_EQ(0, CTL("obj_fill object=%" PRId64 " byte=7", id));
	ASSERT_EQ(0, CTL("obj_check object=%" PRId64 " byte=7", id));
	EXPECT_STREQ("ok 8193 bytes", self->res);
	ASSERT_EQ(0, CTL("kfree %" PRId64, id));
	STATS(&s);
	ASSERT_EQ(0, mmlab_stats_get(&s, "kmalloc_large_pages", &pages));
	EXPECT_EQ(0, pages);

	ASSERT_EQ(0, CTL("kmalloc size=0")) TH_LOG("%s", self->res);
	id = parse_kmalloc(self->res, 0, 0, "ZERO_SIZE_PTR", "");
	ASSERT_LE(0, id) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("obj_check object=%" PRId64 " byte=0", id));
	EXPECT_STREQ("ok 0 bytes", self->res);
	ASSERT_EQ(0, CTL("kfree %" PRId64, id));

	EXPECT_GT(0, CTL("kmalloc size=1000000000")) TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "above the largest kmalloc")) TH_LOG("%s", self->res);
}

TEST_F(mmlab, krealloc_keeps_contents)
{
	static const struct {
		unsigned int size, ksize;
		const char *cache, *how;
	} steps[] = {
		{ 30, 32, "kmalloc-32", " in-place" },
		{ 100, 128, "kmalloc-128", " moved" },
		{ 150, 192, "kmalloc-192", " moved" },
		{ 1000, 1024, "kmalloc-1k", " moved" },
		{ 5000, 8192, "kmalloc-8k", " moved" },
		{ 20000, 32768, "pages order 3", " moved" },
		{ 40, 32768, "pages order 3", " in-place" },
	};
	unsigned int i;
	int64_t id;

	ASSERT_EQ(0, CTL("kmalloc size=24")) TH_LOG("%s", self->res);
	id = parse_kmalloc(self->res, 24, 32, "kmalloc-32", "");
	ASSERT_LE(0, id) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("obj_fill object=%" PRId64 " byte=0x3c", id));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ASSERT_EQ(0, CTL("krealloc object=%" PRId64 " size=%u", id, steps[i].size))
			TH_LOG("%s", self->res);
		EXPECT_EQ(id, parse_kmalloc(self->res, steps[i].size, steps[i].ksize,
					    steps[i].cache, steps[i].how))
			TH_LOG("step %u: '%s'", i, self->res);
		ASSERT_EQ(0, CTL("obj_check object=%" PRId64 " byte=0x3c len=24", id))
			TH_LOG("step %u: %s", i, self->res);
	}
	ASSERT_EQ(0, CTL("krealloc object=%" PRId64 " size=0", id)) TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOENT, CTL("kfree %" PRId64, id)) TH_LOG("size 0 freed it: %s", self->res);
}

TEST_F(mmlab, array_overflow_and_wrong_kinds)
{
	struct mmlab_stats s;
	uint64_t overflows;
	int64_t id;

	ASSERT_EQ(0, CTL("kmalloc_array count=16 size=12")) TH_LOG("%s", self->res);
	id = parse_kmalloc(self->res, 192, 192, "kmalloc-192", "");
	ASSERT_LE(0, id) TH_LOG("'%s'", self->res);
	EXPECT_EQ(-EINVAL, CTL("kmalloc_array count=0x4000000000000000 size=8"));
	EXPECT_NE(NULL, strstr(self->res, "overflows")) TH_LOG("%s", self->res);
	STATS(&s);
	ASSERT_EQ(0, mmlab_stats_get(&s, "kmalloc_overflows", &overflows));
	EXPECT_LE(1, overflows);
	EXPECT_EQ(-EINVAL, CTL("cache_free %" PRId64, id)) TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "free it with kfree")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EUCLEAN, CTL("obj_check object=%" PRId64 " byte=0xff len=1", id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("kfree %" PRId64, id));
	EXPECT_EQ(-ENOENT, CTL("kfree %" PRId64, id));
	EXPECT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
}

TEST_F(mmlab, stats_lines)
{
	uint64_t v;

	ASSERT_EQ(0, mmlab_stats_get(&self->st, "slab_caches", &v));
	EXPECT_LE(13, v);
	ASSERT_EQ(0, mmlab_stats_get(&self->st, "slab_pages", &v));
	ASSERT_EQ(0, mmlab_stats_get(&self->st, "slab_objects", &v));
	ASSERT_EQ(0, mmlab_stats_get(&self->st, "slab_bad_frees", &v));
	ASSERT_EQ(0, mmlab_stats_get(&self->st, "kmalloc_large_pages", &v));
	ASSERT_EQ(0, mmlab_stats_get(&self->st, "kmalloc_overflows", &v));
}

MMLAB_HARNESS_MAIN
