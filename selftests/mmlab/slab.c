// SPDX-License-Identifier: GPL-2.0
/*
 * slab - slab caches through /sys/kernel/debug/mmlab/control
 * (docs/debugfs.md): cache_create's layout (alignment, HWCACHE_ALIGN, slab
 * order with at most 1/8 waste), the constructor run once per object,
 * destroy with live objects (EBUSY, each object named in the log, slabs
 * kept), shrink, bulk allocation, atomic contexts, command errors, and the
 * slabinfo view checked strictly against /proc/slabinfo 2.1's layout.
 */
#include "kselftest_harness.h"
#include <sched.h>

#include "mmlab_helpers.h"

#define KMSG_MAX (64 * 1024)

struct cache {
	uint64_t id;
	char name[32];
	unsigned int objsize, size, align, order, objperslab, waste;
};

/* "cache <id> name <n> objsize <N> size <S> align <A> order <O> objperslab <K> waste <W>" */
static int parse_cache(const char *res, struct cache *c)
{
	char again[256];
	int n = -1;

	if (sscanf(res, "cache %" SCNu64 " name %31s objsize %u size %u align %u order %u "
		   "objperslab %u waste %u%n", &c->id, c->name, &c->objsize, &c->size,
		   &c->align, &c->order, &c->objperslab, &c->waste, &n) != 8 ||
	    n != (int)strlen(res))
		return -1;
	snprintf(again, sizeof(again), "cache %" PRIu64 " name %s objsize %u size %u align %u "
		 "order %u objperslab %u waste %u", c->id, c->name, c->objsize, c->size,
		 c->align, c->order, c->objperslab, c->waste);
	return strcmp(again, res) ? -1 : 0;
}

/* "object <id> cache <cid> pfn 0x<pfn> offset <off>" */
static int parse_obj(const char *res, uint64_t *id, uint64_t cid, uint64_t *pfn, uint64_t *off)
{
	uint64_t c;
	int n = -1;

	if (sscanf(res, "object %" SCNu64 " cache %" SCNu64 " pfn 0x%" SCNx64 " offset %" SCNu64
		   "%n", id, &c, pfn, off, &n) != 4 || n != (int)strlen(res) || c != cid)
		return -1;
	return 0;
}

#define CREATE(c, ...) do {								\
		ASSERT_EQ(0, CTL(__VA_ARGS__)) TH_LOG("%s", self->res);			\
		ASSERT_EQ(0, parse_cache(self->res, (c))) TH_LOG("result '%s'", self->res);	\
	} while (0)

TEST_F(mmlab, cache_create_layout)
{
	struct cache c;

	CREATE(&c, "cache_create name=st_plain size=100");
	EXPECT_STREQ("st_plain", c.name);
	EXPECT_EQ(100, c.objsize);
	EXPECT_EQ(104, c.size);
	EXPECT_EQ(8, c.align);
	EXPECT_EQ(0, c.order);
	EXPECT_EQ(39, c.objperslab);
	EXPECT_EQ(40, c.waste);

	CREATE(&c, "cache_create name=st_hw size=100 flags=HWCACHE_ALIGN");
	EXPECT_EQ(64, c.align);
	EXPECT_EQ(128, c.size);

	CREATE(&c, "cache_create name=st_hw_small size=20 flags=HWCACHE_ALIGN");
	EXPECT_EQ(32, c.align) TH_LOG("calculate_alignment halves the line for small objects");

	CREATE(&c, "cache_create name=st_a256 size=24 align=256 flags=NO_MERGE|ACCOUNT");
	EXPECT_EQ(256, c.align);
	EXPECT_EQ(256, c.size);
}

/* Waste per slab stays at or under 1/8 for a sweep of sizes. */
TEST_F(mmlab, slab_order_waste)
{
	unsigned int size;
	struct cache c;

	for (size = 8; size <= 16384; size += size < 1024 ? 40 : 520) {
		CREATE(&c, "cache_create name=st_w%u size=%u", size, size);
		EXPECT_LE((uint64_t)c.waste * 8, 4096ull << c.order)
			TH_LOG("size %u: order %u waste %u", size, c.order, c.waste);
		EXPECT_EQ(4096ull << c.order, (uint64_t)c.objperslab * c.size + c.waste);
		ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	}
}

TEST_F(mmlab, aligned_objects)
{
	uint64_t id, pfn, off;
	struct cache c;
	int i;

	CREATE(&c, "cache_create name=st_al size=40 align=64");
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
		ASSERT_EQ(0, parse_obj(self->res, &id, c.id, &pfn, &off)) TH_LOG("'%s'", self->res);
		EXPECT_EQ(0, off % 64) TH_LOG("%s", self->res);
		EXPECT_LT(off, 4096ull << c.order);
	}
}

TEST_F(mmlab, ctor_runs_once_per_object)
{
	uint64_t id, pfn, off;
	cpu_set_t one, saved;
	struct cache c;
	unsigned int i;

	/*
	 * Each CPU allocates from a slab of its own (SLUB's CPU slab): stay on
	 * one CPU, or a migration in the middle would construct a second slab.
	 */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(saved), &saved));
	CPU_ZERO(&one);
	for (i = 0; i < CPU_SETSIZE && !CPU_ISSET(i, &saved); i++)
		;
	CPU_SET(i, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	CREATE(&c, "cache_create name=st_ctor size=40 ctor=fill");
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, parse_obj(self->res, &id, c.id, &pfn, &off));
	ASSERT_EQ(0, CTL("obj_check object=%" PRIu64 " byte=0xc7", id)) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok 40 bytes", self->res);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, c.id));
	EXPECT_EQ(c.objperslab, info_field(self->res, "ctor_calls")) TH_LOG("%s", self->res);
	/* Reuse: no new constructor call. */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, CTL("cache_free %" PRIu64, id)) TH_LOG("%s", self->res);
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
		ASSERT_EQ(0, parse_obj(self->res, &id, c.id, &pfn, &off));
	}
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, c.id));
	EXPECT_EQ(c.objperslab, info_field(self->res, "ctor_calls")) TH_LOG("%s", self->res);
	/* One more slab's worth: exactly one more slab constructed. */
	for (i = 0; i < c.objperslab; i++)
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, c.id));
	EXPECT_EQ(2 * c.objperslab, info_field(self->res, "ctor_calls")) TH_LOG("%s", self->res);
	/* SLAB (slab_policy=slab) counts objects in its array caches as active. */
	if (strstr(self->res, " policy slab") == NULL) {
		EXPECT_EQ(c.objperslab + 1, info_field(self->res, "active_objs"))
			TH_LOG("%s", self->res);
	}
	EXPECT_EQ(0, sched_setaffinity(0, sizeof(saved), &saved));
}

TEST_F(mmlab, destroy_with_live_objects)
{
	uint64_t ids[3], pfn, off;
	char *log = calloc(1, KMSG_MAX), *p;
	struct cache c;
	int kfd, i, objs = 0;

	ASSERT_NE(NULL, log);
	kfd = mmlab_kmsg_open();
	ASSERT_LE(0, kfd) TH_LOG("/dev/kmsg: %s", strerror(-kfd));
	CREATE(&c, "cache_create name=st_leak size=64");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
		ASSERT_EQ(0, parse_obj(self->res, &ids[i], c.id, &pfn, &off));
		ASSERT_EQ(0, CTL("obj_fill object=%" PRIu64 " byte=0x42", ids[i]));
	}
	EXPECT_EQ(-EBUSY, CTL("cache_destroy cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	mmlab_kmsg_read(kfd, log, KMSG_MAX);
	EXPECT_NE(NULL, strstr(log, "Objects remaining in st_leak on __kmem_cache_shutdown()"))
		TH_LOG("log:\n%s", log);
	/* SLUB's list_slab_objects(): "Object 0x<hashed> @offset=<n>" each. */
	for (p = log; (p = strstr(p, " @offset=")); p++)
		objs++;
	EXPECT_EQ(3, objs) TH_LOG("log:\n%s", log);
	/* The memory stayed: the objects still hold what we wrote. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, CTL("obj_check object=%" PRIu64 " byte=0x42", ids[i]))
			TH_LOG("%s", self->res);
	}
	EXPECT_EQ(-EINVAL, CTL("cache_alloc cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("check"));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, CTL("cache_free %" PRIu64, ids[i])) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	close(kfd);
	free(log);
}

TEST_F(mmlab, shrink_returns_pages)
{
	uint64_t first = 0, last = 0, id, before, after;
	struct mmlab_stats s;
	struct cache c;
	int64_t pages;

	CREATE(&c, "cache_create name=st_shrink size=512");
	ASSERT_EQ(0, CTL("cache_alloc_bulk cache=%" PRIu64 " count=200", c.id)) TH_LOG("%s", self->res);
	ASSERT_EQ(2, sscanf(self->res, "objects 200 first %" SCNu64 " last %" SCNu64, &first, &last))
		TH_LOG("%s", self->res);
	EXPECT_EQ(first + 199, last);
	STATS(&s);
	ASSERT_EQ(0, mmlab_stats_get(&s, "slab_pages", &before));
	for (id = first; id <= last; id++)
		ASSERT_EQ(0, CTL("cache_free object=%" PRIu64, id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_shrink cache=%" PRIu64, c.id)) TH_LOG("%s", self->res);
	{
		char prefix[64];

		snprintf(prefix, sizeof(prefix), "cache %" PRIu64 " shrink: ", c.id);
		pages = mmlab_result_num(self->res, prefix, " pages returned");
	}
	EXPECT_LT(0, pages) TH_LOG("%s", self->res);
	STATS(&s);
	ASSERT_EQ(0, mmlab_stats_get(&s, "slab_pages", &after));
	EXPECT_GE(before - after, (uint64_t)pages) TH_LOG("%" PRIu64 " -> %" PRIu64, before, after);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, c.id));
	EXPECT_EQ(0, info_field(self->res, "slabs")) TH_LOG("%s", self->res);
}

TEST_F(mmlab, bulk_and_contexts)
{
	struct cache c;

	CREATE(&c, "cache_create name=st_ctx size=200 flags=HWCACHE_ALIGN");
	ASSERT_EQ(0, CTL("cache_alloc_bulk cache=%" PRIu64 " count=10", c.id)) TH_LOG("%s", self->res);
	EXPECT_TRUE(mmlab_match("^objects 10 first [0-9]+ last [0-9]+$", self->res)) TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("cache_alloc_bulk cache=%" PRIu64 " count=0", c.id));
	EXPECT_EQ(-EINVAL, CTL("cache_alloc_bulk cache=%" PRIu64 " count=100000", c.id));
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64 " gfp=GFP_ATOMIC context=irqoff", c.id))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64 " gfp=GFP_NOWAIT context=timer", c.id))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64 " gfp=GFP_KERNEL|__GFP_ZERO", c.id))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
}

TEST_F(mmlab, command_errors)
{
	EXPECT_EQ(-EINVAL, CTL("cache_create size=10"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=a/b size=10"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x size=10 flags=BOGUS"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x size=10 ctor=zero"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x size=10 align=3"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x size=0"));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=x size=16385"));
	EXPECT_EQ(-ENOENT, CTL("cache_alloc cache=999999"));
	EXPECT_EQ(-ENOENT, CTL("cache_info cache=999999"));
	EXPECT_EQ(-ENOENT, CTL("cache_free object=999999"));
	EXPECT_EQ(-ENOENT, CTL("cache_destroy 999999"));
	EXPECT_EQ(-EINVAL, CTL("cache_alloc cache=1 bogus=1"));
}

/*
 * slabinfo: the two header lines of /proc/slabinfo 2.1, then one line per
 * cache in exactly cache_show()'s format: every line is parsed and printed
 * again with that format, and must come out identical.
 */
TEST_F(mmlab, slabinfo_format)
{
	char *text = malloc(MMLAB_VIEW_MAX), line[512], again[512], name[64], policy[16];
	unsigned long active, num, aslabs, nslabs, shared;
	unsigned int objsize, perslab, tl, tb, ts;
	int pages, n, lines = 0, seen_demo = 0, seen_8k = 0, r;
	const char *p;
	struct cache c;

	ASSERT_NE(NULL, text);
	CREATE(&c, "cache_create name=st_info size=100");
	ASSERT_EQ(0, CTL("cache_alloc_bulk cache=%" PRIu64 " count=3", c.id)) TH_LOG("%s", self->res);
	ASSERT_LT(0, mmlab_read_file("slabinfo", text, MMLAB_VIEW_MAX));
	p = text;
	ASSERT_EQ(1, mmlab_next_line(&p, line, sizeof(line)));
	EXPECT_STREQ("slabinfo - version: 2.1", line);
	ASSERT_EQ(1, mmlab_next_line(&p, line, sizeof(line)));
	EXPECT_STREQ("# name            <active_objs> <num_objs> <objsize> <objperslab> "
		     "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
		     "<active_slabs> <num_slabs> <sharedavail> : policy <name>", line);
	while ((r = mmlab_next_line(&p, line, sizeof(line))) > 0) {
		lines++;
		n = -1;
		ASSERT_EQ(13, sscanf(line, "%63s %lu %lu %u %u %d : tunables %u %u %u : slabdata "
				     "%lu %lu %lu : policy %15s%n", name, &active, &num, &objsize,
				     &perslab, &pages, &tl, &tb, &ts, &aslabs, &nslabs, &shared,
				     policy, &n))
			TH_LOG("line '%s'", line);
		ASSERT_EQ((int)strlen(line), n) TH_LOG("trailing text in '%s'", line);
		snprintf(again, sizeof(again), "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u "
			 ": slabdata %6lu %6lu %6lu : policy %s", name, active, num, objsize,
			 perslab, pages, tl, tb, ts, aslabs, nslabs, shared, policy);
		EXPECT_STREQ(again, line);
		EXPECT_LE(active, num) TH_LOG("%s", line);
		/* Only SLAB has array caches to tune (docs/slab-policies.md). */
		if (strcmp(policy, "slab")) {
			EXPECT_EQ(0, tl + tb + ts + shared) TH_LOG("%s", line);
		} else {
			EXPECT_TRUE(tl > 0 && tb == (tl + 1) / 2) TH_LOG("%s", line);
		}
		EXPECT_TRUE(pages > 0 && (pages & (pages - 1)) == 0) TH_LOG("%s", line);
		EXPECT_EQ(num, nslabs * perslab) TH_LOG("%s", line);
		if (!strcmp(name, "st_info")) {
			seen_demo = 1;
			if (strcmp(policy, "slab")) { /* SLAB: array objects count */
				EXPECT_EQ(3, active);
			}
			EXPECT_EQ(104, objsize);
			EXPECT_EQ(39, perslab);
			EXPECT_EQ(1, pages);
		}
		if (!strcmp(name, "kmalloc-8k")) {
			seen_8k = 1;
			EXPECT_EQ(8192, objsize);
		}
	}
	EXPECT_EQ(0, r) TH_LOG("overlong or unterminated line");
	EXPECT_TRUE(seen_demo);
	EXPECT_TRUE(seen_8k);
	EXPECT_LE(14, lines);
	free(text);
}

MMLAB_HARNESS_MAIN
