// SPDX-License-Identifier: GPL-2.0
/*
 * kswapd - background reclaim: the mmlab_kswapd kernel thread exists, wakes
 * when pressure pushes a zone below its low watermark, works the zone back
 * up to high and is counted; the "kswapd" command wakes it by hand; and
 * min_free_kbytes moves the watermarks (docs/debugfs.md: zoneinfo, stats,
 * pressure, kswapd, min_free_kbytes).
 */
#include <dirent.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * kswapd wake-ups so far: the sum of every stats key that names kswapd and
 * a wake-up (one total, or one per zone), else of every such zoneinfo
 * counter. 0 and *v, or -1 with the keys that were there in why.
 */
static int kswapd_wakeups(uint64_t *v, char *why, size_t whycap)
{
	struct mmlab_zoneinfo *zi;
	struct mmlab_stats s;
	unsigned int i, z;
	int found = 0;
	size_t len;

	if (mmlab_read_stats(&s, why, whycap))
		return -1;
	*v = 0;
	for (i = 0; i < s.nkeys; i++) {
		if (strstr(s.kv[i].key, "kswapd") && strstr(s.kv[i].key, "wake")) {
			*v += s.kv[i].val;
			found = 1;
		}
	}
	if (found)
		return 0;
	zi = malloc(sizeof(*zi));
	if (!zi || mmlab_read_zoneinfo(zi, why, whycap)) {
		free(zi);
		return -1;
	}
	for (z = 0; z < zi->nzones; z++) {
		for (i = 0; i < zi->z[z].nkeys; i++) {
			if (strstr(zi->z[z].kv[i].key, "kswapd") && strstr(zi->z[z].kv[i].key, "wake")) {
				*v += zi->z[z].kv[i].val;
				found = 1;
			}
		}
	}
	free(zi);
	if (found)
		return 0;
	len = snprintf(why, whycap, "no kswapd wake-up counter among the stats keys:");
	for (i = 0; i < s.nkeys && len < whycap; i++)
		len += snprintf(why + len, whycap - len, " %s", s.kv[i].key);
	return -1;
}

/* pid of the kernel thread called comm, or 0. */
static pid_t find_thread(const char *comm)
{
	char path[300], name[64];
	struct dirent *d;
	pid_t pid = 0;
	ssize_t n;
	DIR *dir;
	int fd;

	dir = opendir("/proc");
	if (!dir)
		return 0;
	while (!pid && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		if (name[n - 1] == '\n')
			name[n - 1] = '\0';
		if (!strcmp(name, comm))
			pid = atoi(d->d_name);
	}
	closedir(dir);
	return pid;
}

/* mmlab_kswapd is a kernel thread (child of kthreadd), and ps lists it. */
TEST_F(mmlab, kswapd_thread_exists)
{
	char path[64], stat[512], line[256], *p;
	pid_t pid = find_thread("mmlab_kswapd");
	int fd, ppid = -1, found = 0;
	ssize_t n;
	FILE *ps;

	ASSERT_LT(0, pid) TH_LOG("no process with comm mmlab_kswapd in /proc");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	ASSERT_LT(0, n);
	stat[n] = '\0';
	/* "pid (comm) state ppid ..." */
	p = strrchr(stat, ')');
	ASSERT_NE(NULL, p);
	ASSERT_EQ(1, sscanf(p + 1, " %*c %d", &ppid));
	EXPECT_EQ(2, ppid) TH_LOG("mmlab_kswapd's parent is %d, not kthreadd", ppid);

	ps = popen("ps 2>&1", "r");
	ASSERT_NE(NULL, ps);
	while (fgets(line, sizeof(line), ps))
		if (strstr(line, "mmlab_kswapd"))
			found = 1;
	pclose(ps);
	EXPECT_TRUE(found) TH_LOG("ps does not list mmlab_kswapd");
}

/* Times the thread has run (stats kswapd_runs): 0 and *v, or -1. */
static int kswapd_runs(uint64_t *v, char *why, size_t whycap)
{
	struct mmlab_stats s;

	if (mmlab_read_stats(&s, why, whycap))
		return -1;
	if (mmlab_stats_get(&s, "kswapd_runs", v)) {
		snprintf(why, whycap, "no kswapd_runs in stats");
		return -1;
	}
	return 0;
}

/* "kswapd" wakes the thread by hand: it runs once more. */
TEST_F(mmlab, kswapd_command_wakes)
{
	uint64_t r0, r1 = 0, t0;

	ASSERT_EQ(0, kswapd_runs(&r0, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	ASSERT_EQ(0, CTL("kswapd")) TH_LOG("%s", self->res);
	EXPECT_STREQ("kswapd woken", self->res);
	for (t0 = now_ms(); now_ms() - t0 < 5000; usleep(20 * 1000)) {
		ASSERT_EQ(0, kswapd_runs(&r1, self->why, sizeof(self->why)))
			TH_LOG("%s", self->why);
		if (r1 > r0)
			break;
	}
	EXPECT_LT(r0, r1) TH_LOG("kswapd_runs %" PRIu64 " -> %" PRIu64, r0, r1);
}

/*
 * Pressure pushes a zone below low: mmlab_kswapd is woken and brings the
 * zone's free pages back up to at least high (borrowing within the zone's
 * share), within a bounded time, while the pressure pool still holds its
 * pages.
 */
static void below_low_then_high(struct __test_metadata *_metadata,
				FIXTURE_DATA(mmlab) *self, const char *zone, const char *gfp)
{
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	uint64_t w0, w1 = 0, t0, take, elapsed = 0, zw = 0, zw0 = 0, avail, held = 0;
	struct mmlab_zi_zone *z = NULL;
	unsigned int step;
	int ret, reached = 0;

	ASSERT_NE(NULL, zi);
	ASSERT_EQ(0, kswapd_wakeups(&w0, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	/*
	 * Take pages until an allocation finds the zone below low and wakes
	 * kswapd for it. Allocations come from the per-CPU lists first and
	 * the zone's free count drops a batch at a time, so aim below low
	 * counting the lists' pages too, a few pages at a time after that.
	 */
	ret = CTL("pressure consume=1 gfp=%s", gfp);
	ASSERT_EQ(0, ret) TH_LOG("pressure consume=1: %s (%s)", strerror(-ret), self->res);
	held = 1;
	mmlab_settle();		/* the first chunk, and kswapd's own if it woke */
	for (step = 0; step < 64; step++) {
		ZONEINFO(zi);
		z = mmlab_zi_zone(zi, zone);
		ASSERT_NE(NULL, z);
		ASSERT_EQ(0, mmlab_zi_get(z, "nr_kswapd_wakeups", &zw)) TH_LOG("zone %s", zone);
		if (!step)
			zw0 = zw;
		else if (zw > zw0)
			break;
		avail = z->free + mmlab_zi_pcp_pages(z);
		take = avail >= z->low ? avail - z->low + 1 : 1;
		ret = CTL("pressure consume=%" PRIu64 " gfp=%s", take, gfp);
		ASSERT_EQ(0, ret) TH_LOG("pressure consume=%" PRIu64 ": %s (%s)", take,
					 strerror(-ret), self->res);
		held += take;
	}
	ASSERT_LT(zw0, zw) TH_LOG("zone %s: kswapd never woken for it; %" PRIu64 " pages held, "
				  "free %" PRIu64 ", low %" PRIu64, zone, held, z->free, z->low);
	TH_LOG("zone %s: kswapd woken with %" PRIu64 " pages held (free %" PRIu64 ", min %" PRIu64
	       " low %" PRIu64 " high %" PRIu64 ")", zone, held, z->free, z->min, z->low, z->high);

	for (t0 = now_ms(); (elapsed = now_ms() - t0) < 10000; usleep(20 * 1000)) {
		ZONEINFO(zi);
		z = mmlab_zi_zone(zi, zone);
		ASSERT_NE(NULL, z);
		if (z->free >= z->high) {
			reached = 1;
			break;
		}
	}
	EXPECT_TRUE(reached) TH_LOG("zone %s: free %" PRIu64 " still below high %" PRIu64
				    " after 10 s (present %" PRIu64 " of %" PRIu64 ")",
				    zone, z->free, z->high, z->present, z->spanned);
	if (reached)
		TH_LOG("zone %s: free %" PRIu64 " >= high %" PRIu64 " after %" PRIu64 " ms",
		       zone, z->free, z->high, elapsed);
	ASSERT_EQ(0, kswapd_wakeups(&w1, self->why, sizeof(self->why))) TH_LOG("%s", self->why);
	EXPECT_LT(w0, w1) TH_LOG("kswapd wake-ups %" PRIu64 " -> %" PRIu64, w0, w1);
	free(zi);
}

TEST_F_TIMEOUT(mmlab, kswapd_brings_normal_to_high, 30)
{
	if (!mmlab_host_has_normal())
		SKIP(return, "this machine has no memory above 4 GiB (run the VM with -m 6G)");
	below_low_then_high(_metadata, self, "Normal", "GFP_KERNEL|__GFP_NOWARN");
}

TEST_F_TIMEOUT(mmlab, kswapd_brings_dma32_to_high, 30)
{
	below_low_then_high(_metadata, self, "DMA32", "GFP_KERNEL|GFP_DMA32|__GFP_NOWARN");
}

/*
 * min_free_kbytes sets the watermarks: the zones' min add up to it (in pages,
 * give or take a page per zone for rounding), and low/high stay above min.
 * The value found is put back.
 */
TEST_F(mmlab, min_free_kbytes_moves_watermarks)
{
	static const uint64_t kb[] = { 1024, 4096, 8192 };
	struct mmlab_zoneinfo *zi = malloc(sizeof(*zi));
	uint64_t orig = 0, sum, page_kb = getpagesize() / 1024;
	unsigned int t, i;
	char want[64];
	int ret;

	ASSERT_NE(NULL, zi);
	ZONEINFO(zi);
	for (sum = 0, i = 0; i < zi->nzones; i++)
		sum += zi->z[i].min;
	if (mmlab_stats_get(&self->st, "min_free_kbytes", &orig))
		orig = sum * page_kb;
	for (t = 0; t < sizeof(kb) / sizeof(kb[0]); t++) {
		ret = CTL("min_free_kbytes=%" PRIu64, kb[t]);
		ASSERT_EQ(0, ret) TH_LOG("%s (%s)", strerror(-ret), self->res);
		snprintf(want, sizeof(want), "min_free_kbytes %" PRIu64, kb[t]);
		EXPECT_STREQ(want, self->res);
		ZONEINFO(zi);
		for (sum = 0, i = 0; i < zi->nzones; i++) {
			sum += zi->z[i].min;
			EXPECT_LT(zi->z[i].min, zi->z[i].low) TH_LOG("zone %s", zi->z[i].name);
			EXPECT_LT(zi->z[i].low, zi->z[i].high) TH_LOG("zone %s", zi->z[i].name);
		}
		EXPECT_GE(kb[t] / page_kb, sum);
		EXPECT_LE(kb[t] / page_kb, sum + zi->nzones)
			TH_LOG("min_free_kbytes=%" PRIu64 ": the zones' min add up to %" PRIu64
			       " pages", kb[t], sum);
	}
	ret = CTL("min_free_kbytes=%" PRIu64, orig);
	EXPECT_EQ(0, ret) TH_LOG("putting back %" PRIu64 ": %s (%s)", orig, strerror(-ret),
				 self->res);
	free(zi);
}

MMLAB_HARNESS_MAIN
