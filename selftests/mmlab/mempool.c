// SPDX-License-Identifier: GPL-2.0
/*
 * mempool - memory pools through the control file (docs/debugfs.md:
 * mempool_create, mempool_alloc, mempool_free, mempool_resize,
 * mempool_destroy, mempool_info and the mempools view).
 *
 * The central case is Linux's promise for mempools: with the page
 * allocator exhausted (pressure consume=... up to the capacity), writers
 * doing a sleeping mempool_alloc block inside write() and all complete as
 * another writer frees elements back to the pool, while an atomic
 * (GFP_ATOMIC or GFP_NOWAIT) one fails at once with ENOMEM. While they
 * sleep, the module cannot be unloaded (the open control files pin it).
 */
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

#define NR_SLEEPERS	4

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "pool P name N type T min_nr M": P, or -1. */
static int64_t parse_pool(const char *res, const char *name, const char *type,
			  unsigned int min_nr)
{
	char want[160];
	unsigned long id;
	int n = -1;

	if (sscanf(res, "pool %lu name %*s%n", &id, &n) != 1 || n < 0)
		return -1;
	snprintf(want, sizeof(want), "pool %lu name %s type %s min_nr %u", id, name, type, min_nr);
	return strcmp(want, res) ? -1 : (int64_t)id;
}

/* "object O pool P from backing|reserve": O, with the source in *src. */
static int64_t parse_element(const char *res, uint64_t pool, char *src, size_t cap)
{
	char from[16], again[128];
	unsigned long id, p;

	if (!mmlab_match("^object [1-9][0-9]* pool [1-9][0-9]* from (backing|reserve)$", res) ||
	    sscanf(res, "object %lu pool %lu from %15s", &id, &p, from) != 3 || p != pool)
		return -1;
	snprintf(again, sizeof(again), "object %lu pool %lu from %s", id, p, from);
	if (strcmp(again, res))
		return -1;
	snprintf(src, cap, "%s", from);
	return (int64_t)id;
}

/*
 * The mempools view's row for name: min_nr curr_nr out waits reserve_hits
 * backing_failures. 0, -1 if the pool is not listed, -2 if the view is not
 * the documented shape.
 */
static int pool_row(const char *name, uint64_t v[6], char *why, size_t whycap)
{
	char *buf = mmlab_read_view("mempools", why, whycap), line[256], n[64], t[16];
	uint64_t row[6];
	const char *text = buf;
	int r, first = 1, found = -1;

	if (!buf)
		return -2;
	while ((r = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (first) {
			first = 0;
			if (!mmlab_match("^# name +type +min_nr +curr_nr +out +waits +reserve_hits +backing_failures$",
					 line)) {
				snprintf(why, whycap, "bad header '%.160s'", line);
				found = -2;
				break;
			}
			continue;
		}
		if (!mmlab_match("^[^ ]+ +(custom|slab|kmalloc|page) +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$",
				 line)) {
			snprintf(why, whycap, "bad row '%.160s'", line);
			found = -2;
			break;
		}
		if (sscanf(line, "%63s %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			   " %" SCNu64 " %" SCNu64, n, t, &row[0], &row[1], &row[2], &row[3],
			   &row[4], &row[5]) == 8 && !strcmp(n, name)) {
			memcpy(v, row, sizeof(row));
			found = 0;
		}
	}
	if (r < 0 && found != -2) {
		snprintf(why, whycap, "overlong or unterminated line");
		found = -2;
	}
	if (first && found != -2) {
		snprintf(why, whycap, "no header");
		found = -2;
	}
	free(buf);
	return found;
}

/* Take every page the core has, whatever the watermarks say. */
/* Wait (up to 3 s) until kswapd_runs has not moved for 200 ms. */
static void kswapd_idle(void)
{
	uint64_t runs, last = ~0ull;
	struct mmlab_stats st;
	char why[256];
	unsigned int same = 0, i;

	for (i = 0; i < 150 && same < 10; i++) {
		if (mmlab_read_stats(&st, why, sizeof(why)) ||
		    mmlab_stats_get(&st, "kswapd_runs", &runs))
			return;
		same = runs == last ? same + 1 : 0;
		last = runs;
		usleep(20 * 1000);
	}
}

static int exhaust(int fd, uint64_t capacity, char *res, size_t cap)
{
	static const char *const gfps[] = { "GFP_KERNEL", "GFP_ATOMIC",
					    "GFP_ATOMIC|__GFP_MEMALLOC" };
	unsigned int i;
	int ret;

	for (i = 0; i < 4; i++) {
		/*
		 * Pages parked on other CPUs' per-CPU lists would still serve
		 * allocations running there: drain them into the buddy lists and
		 * take them too.
		 */
		if (i == 3 && (ret = mmlab_ctl(fd, res, cap, "drain")))
			return ret;
		ret = mmlab_ctl(fd, res, cap, "pressure consume=%" PRIu64 " gfp=%s|__GFP_NOWARN",
				capacity, gfps[i < 3 ? i : 2]);
		if (ret && ret != -ENOMEM)
			return ret;
	}
	/*
	 * The pressure writer may have moved between CPUs and left part of a
	 * per-CPU refill on the list of a CPU it no longer runs on, and the
	 * failures woke mmlab_kswapd, whose shrinkers may free slab pages (onto
	 * its own CPU's list). Once kswapd has stopped running, take whatever
	 * is in the buddy lists and drain, until a drain finds every list empty.
	 */
	kswapd_idle();
	for (i = 0; i < 16; i++) {
		unsigned long drained = 0;

		ret = mmlab_ctl(fd, res, cap, "pressure consume=%" PRIu64
				" gfp=GFP_ATOMIC|__GFP_MEMALLOC|__GFP_NOWARN", capacity);
		if (ret && ret != -ENOMEM)
			return ret;
		if ((ret = mmlab_ctl(fd, res, cap, "drain")))
			return ret;
		if (sscanf(res, "drained %lu pages", &drained) != 1)
			return -EPROTO;
		if (!drained)
			break;
	}
	/* Nothing is left even for an allocation that ignores the watermarks. */
	ret = mmlab_ctl(fd, res, cap, "alloc order=0 gfp=GFP_ATOMIC|__GFP_MEMALLOC|__GFP_NOWARN");
	return ret == -ENOMEM ? 0 : (ret ? ret : -EEXIST);
}

TEST_F(mmlab, create_alloc_free_resize_destroy)
{
	char src[16], want[128];
	int64_t pool, obj;
	uint64_t v[6];

	ASSERT_EQ(0, CTL("mempool_create name=st_basic min_nr=4 type=page order=%u", ORD(1)))
		TH_LOG("%s", self->res);
	pool = parse_pool(self->res, "st_basic", "page", 4);
	ASSERT_LT(0, pool) TH_LOG("result '%s'", self->res);
	ASSERT_EQ(0, pool_row("st_basic", v, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	EXPECT_EQ(4, v[0]);
	EXPECT_EQ(4, v[1]);
	EXPECT_EQ(0, v[2]);

	ASSERT_EQ(0, CTL("mempool_alloc pool=%" PRId64, pool)) TH_LOG("%s", self->res);
	obj = parse_element(self->res, pool, src, sizeof(src));
	ASSERT_LT(0, obj) TH_LOG("result '%s'", self->res);
	EXPECT_STREQ("backing", src) TH_LOG("memory is plentiful: the backing allocator serves it");
	ASSERT_EQ(0, pool_row("st_basic", v, self->why, sizeof(self->why)));
	EXPECT_EQ(4, v[1]);
	EXPECT_EQ(1, v[2]);

	ASSERT_EQ(0, CTL("mempool_info pool=%" PRId64, pool));
	snprintf(want, sizeof(want), "pool %" PRId64 " name st_basic type page min_nr 4 curr_nr 4 out 1 ",
		 pool);
	EXPECT_EQ(0, strncmp(want, self->res, strlen(want))) TH_LOG("'%s'", self->res);

	EXPECT_EQ(-EBUSY, CTL("mempool_destroy pool=%" PRId64, pool))
		TH_LOG("an element is out: %s", self->res);
	ASSERT_EQ(0, CTL("mempool_resize pool=%" PRId64 " min_nr=9", pool)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "pool %" PRId64 " min_nr 9 curr_nr 9", pool);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("mempool_free object=%" PRId64, obj)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "freed object %" PRId64 " pool %" PRId64, obj, pool);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("mempool_resize pool=%" PRId64 " min_nr=1", pool));
	snprintf(want, sizeof(want), "pool %" PRId64 " min_nr 1 curr_nr 1", pool);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("mempool_destroy pool=%" PRId64, pool)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "pool %" PRId64 " destroyed", pool);
	EXPECT_STREQ(want, self->res);
	EXPECT_EQ(-1, pool_row("st_basic", v, self->why, sizeof(self->why)));
	EXPECT_EQ(-ENOENT, CTL("mempool_alloc pool=%" PRId64, pool));
}

TEST_F(mmlab, refuses_bad_commands)
{
	int64_t pool;

	EXPECT_EQ(-EINVAL, CTL("mempool_create name=x min_nr=1 type=bogus order=0"));
	EXPECT_EQ(-EINVAL, CTL("mempool_create name=x min_nr=1 type=page"));
	EXPECT_EQ(-EINVAL, CTL("mempool_create name=x min_nr=1 type=kmalloc order=0"));
	EXPECT_EQ(-EINVAL, CTL("mempool_create name=x min_nr=1 type=page order=99"));
	EXPECT_EQ(-EINVAL, CTL("mempool_create name=a/b min_nr=1 type=page order=0"));
	EXPECT_EQ(-EINVAL, CTL("mempool_create min_nr=1 type=page order=0"));
	ASSERT_EQ(0, CTL("mempool_create name=st_bad min_nr=1 type=page order=0"));
	pool = parse_pool(self->res, "st_bad", "page", 1);
	ASSERT_LT(0, pool);
	EXPECT_EQ(-EINVAL, CTL("mempool_alloc pool=%" PRId64 " context=irqoff", pool))
		TH_LOG("GFP_KERNEL may sleep: %s", self->res);
	EXPECT_EQ(-EINVAL, CTL("mempool_alloc pool=%" PRId64 " gfp=GFP_KERNEL|__GFP_ZERO", pool));
	EXPECT_EQ(-ENOENT, CTL("mempool_alloc pool=%" PRId64, pool + 1000));
	EXPECT_EQ(0, CTL("mempool_alloc pool=%" PRId64 " gfp=GFP_ATOMIC context=irqoff", pool))
		TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("mempool_alloc pool=%" PRId64 " gfp=GFP_NOWAIT context=timer", pool))
		TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOENT, CTL("mempool_free object=999999"));
}

/* Pools over a slab cache and over kmalloc; the elements are real objects. */
TEST_F(mmlab, slab_and_kmalloc_pools)
{
	unsigned long cache;
	int64_t sp, kp, o1, o2;
	char src[16], want[64];
	uint64_t v[6];
	int ret;

	ret = CTL("cache_create name=st_mp_objs size=96");
	if (ret == -EINVAL && strstr(self->res, "unknown command"))
		SKIP(return, "no slab layer in this build");
	ASSERT_EQ(0, ret) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %lu ", &cache)) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("mempool_create name=st_slab min_nr=3 type=slab cache=%lu", cache))
		TH_LOG("%s", self->res);
	sp = parse_pool(self->res, "st_slab", "slab", 3);
	ASSERT_LT(0, sp) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("mempool_create name=st_kmalloc min_nr=2 type=kmalloc size=300"))
		TH_LOG("%s", self->res);
	kp = parse_pool(self->res, "st_kmalloc", "kmalloc", 2);
	ASSERT_LT(0, kp) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, pool_row("st_slab", v, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	EXPECT_EQ(3, v[1]);

	ASSERT_EQ(0, CTL("mempool_alloc pool=%" PRId64, sp)) TH_LOG("%s", self->res);
	o1 = parse_element(self->res, sp, src, sizeof(src));
	ASSERT_LT(0, o1) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("mempool_alloc pool=%" PRId64, kp)) TH_LOG("%s", self->res);
	o2 = parse_element(self->res, kp, src, sizeof(src));
	ASSERT_LT(0, o2) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("obj_fill object=%" PRId64 " byte=0x5a", o1)) TH_LOG("%s", self->res);
	snprintf(want, sizeof(want), "object %" PRId64 " filled 96 bytes", o1);
	EXPECT_STREQ(want, self->res);
	ASSERT_EQ(0, CTL("obj_fill object=%" PRId64 " byte=7", o2)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("obj_check object=%" PRId64 " byte=7", o2)) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok 300 bytes", self->res);

	/* The pool keeps its cache alive, even with an empty reserve. */
	ASSERT_EQ(0, CTL("mempool_resize pool=%" PRId64 " min_nr=0", sp)) TH_LOG("%s", self->res);
	EXPECT_EQ(-EBUSY, CTL("cache_destroy cache=%lu", cache)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("mempool_free object=%" PRId64, o1));
	EXPECT_EQ(0, CTL("mempool_free object=%" PRId64, o2));
	EXPECT_EQ(0, CTL("mempool_destroy pool=%" PRId64, sp)) TH_LOG("%s", self->res);
	EXPECT_EQ(0, CTL("mempool_destroy pool=%" PRId64, kp)) TH_LOG("%s", self->res);
}

struct sleeper {
	pthread_t thread;
	uint64_t pool;
	int ret;
	volatile int done;
	char res[MMLAB_RESULT_MAX];
};

/* One writer on its own descriptor: a sleeping mempool_alloc. */
static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	int fd = mmlab_ctl_open();

	if (fd < 0) {
		s->ret = fd;
	} else {
		s->ret = mmlab_ctl(fd, s->res, sizeof(s->res), "mempool_alloc pool=%" PRIu64,
				   s->pool);
		close(fd);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F(mmlab, sleepers_all_complete_under_exhaustion)
{
	struct sleeper sl[NR_SLEEPERS];
	uint64_t to_free[NR_SLEEPERS + 2], v[6], deadline, t0, t_exhausted, t_free;
	unsigned int nfree = 0, i, collected = 0;
	int64_t pool, obj;
	char src[16];
	unsigned int early;
	long rc;
	int err;

	ASSERT_EQ(0, CTL("mempool_create name=st_pressure min_nr=2 type=page order=0"))
		TH_LOG("%s", self->res);
	pool = parse_pool(self->res, "st_pressure", "page", 2);
	ASSERT_LT(0, pool);
	t0 = now_ms();
	ASSERT_EQ(0, exhaust(self->fd, self->st.capacity_pages, self->res, sizeof(self->res)))
		TH_LOG("could not exhaust the page allocator: %s", self->res);
	t_exhausted = now_ms();

	/* The reserve serves two; then an atomic caller fails at once. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, CTL("mempool_alloc pool=%" PRId64, pool)) TH_LOG("%s", self->res);
		obj = parse_element(self->res, pool, src, sizeof(src));
		ASSERT_LT(0, obj) TH_LOG("'%s'", self->res);
		EXPECT_STREQ("reserve", src);
		to_free[nfree++] = obj;
	}
	EXPECT_EQ(-ENOMEM, CTL("mempool_alloc pool=%" PRId64 " gfp=GFP_ATOMIC", pool))
		TH_LOG("%s", self->res);
	EXPECT_EQ(-ENOMEM, CTL("mempool_alloc pool=%" PRId64 " gfp=GFP_NOWAIT context=timer", pool))
		TH_LOG("%s", self->res);

	for (i = 0; i < NR_SLEEPERS; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].pool = pool;
		ASSERT_EQ(0, pthread_create(&sl[i].thread, NULL, sleeper_main, &sl[i]));
	}
	/* Every writer goes to sleep (under TCG the threads may be slow to start). */
	deadline = now_ms() + 20 * 1000;
	do {
		usleep(50 * 1000);
		ASSERT_EQ(0, pool_row("st_pressure", v, self->why, sizeof(self->why)))
			TH_LOG("%s", self->why);
	} while (v[3] < NR_SLEEPERS && now_ms() < deadline);
	EXPECT_LE(NR_SLEEPERS, v[3]) TH_LOG("waits are counted");
	for (i = 0, early = 0; i < NR_SLEEPERS; i++)
		early += __atomic_load_n(&sl[i].done, __ATOMIC_ACQUIRE);
	EXPECT_EQ(0, early) TH_LOG("writers returned while nothing was free");
	EXPECT_EQ(-EBUSY, CTL("mempool_destroy pool=%" PRId64, pool))
		TH_LOG("in use by the sleepers: %s", self->res);

	/* The open control files pin the module while a writer sleeps. */
	rc = syscall(SYS_delete_module, "mmlab", O_NONBLOCK);
	err = errno;
	EXPECT_EQ(-1, rc);
	EXPECT_TRUE(err == EWOULDBLOCK || err == EBUSY) TH_LOG("delete_module: %s", strerror(err));

	/* Free one element at a time; each wakes a sleeper, whose element is freed in turn. */
	t_free = now_ms();
	deadline = t_free + 60 * 1000;
	while (collected < NR_SLEEPERS && now_ms() < deadline) {
		if (nfree) {
			obj = to_free[--nfree];
			ASSERT_EQ(0, CTL("mempool_free object=%" PRId64, obj)) TH_LOG("%s", self->res);
		}
		usleep(20 * 1000);
		for (i = 0; i < NR_SLEEPERS; i++) {
			if (sl[i].pool == 0 || !__atomic_load_n(&sl[i].done, __ATOMIC_ACQUIRE))
				continue;
			sl[i].pool = 0;	/* collected */
			collected++;
			EXPECT_EQ(0, sl[i].ret) TH_LOG("writer %u: %s", i, sl[i].res);
			obj = parse_element(sl[i].res, pool, src, sizeof(src));
			EXPECT_LT(0, obj) TH_LOG("writer %u: '%s'", i, sl[i].res);
			EXPECT_STREQ("reserve", src);
			if (obj > 0)
				to_free[nfree++] = obj;
		}
	}
	EXPECT_EQ(NR_SLEEPERS, collected) TH_LOG("writers still asleep after 60 s");
	for (i = 0; i < NR_SLEEPERS; i++)
		pthread_join(sl[i].thread, NULL);
	ASSERT_EQ(0, pool_row("st_pressure", v, self->why, sizeof(self->why)));
	EXPECT_EQ(2 + NR_SLEEPERS, v[4]) TH_LOG("every allocation came from the reserve");
	TH_LOG("%" PRIu64 " pages taken by pressure in %" PRIu64 " ms; %d writers slept %" PRIu64
	       " ms, then all completed %" PRIu64 " ms after the first free; waits %" PRIu64
	       ", reserve hits %" PRIu64 ", backing failures %" PRIu64,
	       self->st.capacity_pages, t_exhausted - t0, NR_SLEEPERS, t_free - t_exhausted,
	       now_ms() - t_free, v[3], v[4], v[5]);
	EXPECT_EQ(0, CTL("pressure release=all"));
}

MMLAB_HARNESS_MAIN
