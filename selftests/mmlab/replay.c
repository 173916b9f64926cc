// SPDX-License-Identifier: GPL-2.0
/*
 * replay - allocation traces and their replay (docs/replay.md): a bundled
 * workload replayed twice through each slab policy gives identical page
 * counts and fragmentation figures; `run policy=all` gives the four-column
 * report (slab, slub, slob, host) without failures; a trace recorded from
 * control-file work reads back, loads back and replays with the same number
 * of ops; a generated trace saved from replay_trace and loaded again replays
 * the same; bad input to each file is EINVAL; the main core ends with
 * nothing borrowed.
 */
#include "kselftest_harness.h"

#include "mmlab_helpers.h"

#define TEXT_MAX	(8 << 20)	/* a trace of a few thousand ops */
#define OPS		2000		/* per generated workload: quick under TCG */

static const char *const workloads[] = { "kmalloc-mix", "cache-churn", "fragmenter",
					 "ctor-heavy" };

/* Write buf to a debugfs file in pieces of at most chunk bytes, then close.
 * 0, or -errno of the first failing write or of close(). */
static int put_file(const char *name, const char *buf, size_t len, size_t chunk)
{
	char path[512];
	size_t off = 0;
	ssize_t n;
	int fd, err = 0;

	mmlab_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off < len) {
		size_t want = len - off < chunk ? len - off : chunk;

		n = write(fd, buf + off, want);
		if (n < 0) {
			err = -errno;
			break;
		}
		if ((size_t)n != want) {
			err = -EIO;
			break;
		}
		off += n;
	}
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static int put(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(const char *name, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(cmd))
		return -E2BIG;
	return put_file(name, cmd, len, len ? len : 1);
}

struct result {
	char policy[16];
	char trace[64];
	uint64_t ops, failures, peak, final, requested, waste, ns_per_op;
	char extfrag[256];
};

#define RESULT_RE "^replay policy=[a-z]+ trace=[^ ]+ ops=[0-9]+ failures=[0-9]+ " \
	"peak_pages=[0-9]+ final_pages=[0-9]+ peak_requested_bytes=[0-9]+ " \
	"peak_waste_bytes=[0-9]+ ns_per_op=[0-9]+ extfrag=(-|-?[0-9]+\\.[0-9]{3}(,-?[0-9]+\\.[0-9]{3})*)$"

/* The result line of policy in the replay file's text: 0, or -1 and why. */
static int find_result(const char *text, const char *policy, struct result *r,
		       char *why, size_t whycap)
{
	const char *start = text;
	char line[1024], prefix[64];
	int ret, found = 0;

	snprintf(prefix, sizeof(prefix), "replay policy=%s ", policy);
	while ((ret = mmlab_next_line(&text, line, sizeof(line))) > 0) {
		if (strncmp(line, prefix, strlen(prefix)))
			continue;
		if (found++) {
			snprintf(why, whycap, "two result lines for %s", policy);
			return -1;
		}
		if (!mmlab_match(RESULT_RE, line)) {
			snprintf(why, whycap, "result line '%.300s' does not match the format", line);
			return -1;
		}
		memset(r, 0, sizeof(*r));
		if (sscanf(line, "replay policy=%15s trace=%63s ops=%" SCNu64 " failures=%" SCNu64
			   " peak_pages=%" SCNu64 " final_pages=%" SCNu64
			   " peak_requested_bytes=%" SCNu64 " peak_waste_bytes=%" SCNu64
			   " ns_per_op=%" SCNu64 " extfrag=%255s", r->policy, r->trace, &r->ops,
			   &r->failures, &r->peak, &r->final, &r->requested, &r->waste,
			   &r->ns_per_op, r->extfrag) != 10) {
			snprintf(why, whycap, "cannot parse '%.300s'", line);
			return -1;
		}
	}
	if (ret < 0) {
		snprintf(why, whycap, "overlong or unterminated line in replay");
		return -1;
	}
	if (!found) {
		snprintf(why, whycap, "no result line for %s in:\n%.400s", policy, start);
		return -1;
	}
	return 0;
}

/* Read the replay file and pick policy's result. */
static int read_result(const char *policy, struct result *r, char *why, size_t whycap)
{
	char *buf = mmlab_read_view("replay", why, whycap);
	int ret;

	if (!buf)
		return -1;
	ret = find_result(buf, policy, r, why, whycap);
	free(buf);
	return ret;
}

/* Lines of a trace text that are events (neither comments nor empty). */
static uint64_t event_lines(const char *text)
{
	uint64_t n = 0;
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');

		if (*p != '#' && *p != '\n')
			n++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/*
 * Does any id= or cache= value look like a kernel address (the direct map
 * and vmalloc space start ffff8..ffffc, with or without KASLR)? A hashed id
 * starts like that once in ~250000.
 */
static int has_raw_pointer(const char *text)
{
	static const char *const keys[] = { " id=", " cache=" };
	const char *p;
	unsigned int k;

	for (k = 0; k < 2; k++) {
		for (p = text; (p = strstr(p, keys[k])); p++) {
			const char *v = p + strlen(keys[k]);

			if (!strncmp(v, "0x", 2))
				v += 2;
			if (!strncmp(v, "ffff", 4) && strchr("89abc", v[4]))
				return 1;
		}
	}
	return 0;
}

#define RUN(policy) ASSERT_EQ(0, put("replay", "run policy=%s", policy)) \
			TH_LOG("run policy=%s failed (see the kernel log)", policy)
#define RESULT(policy, r) ASSERT_EQ(0, read_result(policy, r, self->why, sizeof(self->why))) \
			TH_LOG("%s", self->why)

/* The check: twice through one policy, the same pages and extfrag. */
static void twice_the_same(struct __test_metadata *_metadata, char *why, size_t whycap,
			   const char *policy)
{
	struct result a, b;
	char name[64];
	unsigned int w;

	for (w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
		ASSERT_EQ(0, put("replay", "generate workload=%s seed=7 ops=%d", workloads[w], OPS))
			TH_LOG("generate %s", workloads[w]);
		ASSERT_EQ(0, put("replay", "run policy=%s", policy)) TH_LOG("%s", workloads[w]);
		ASSERT_EQ(0, read_result(policy, &a, why, whycap)) TH_LOG("%s", why);
		ASSERT_EQ(0, put("replay", "run policy=%s", policy)) TH_LOG("%s", workloads[w]);
		ASSERT_EQ(0, read_result(policy, &b, why, whycap)) TH_LOG("%s", why);
		snprintf(name, sizeof(name), "%s/7", workloads[w]);
		EXPECT_STREQ(name, a.trace);
		EXPECT_LE(OPS, a.ops) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.ops, b.ops);
		EXPECT_LT(0, a.peak) TH_LOG("%s %s: no pages at all?", policy, workloads[w]);
		EXPECT_EQ(a.peak, b.peak) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.final, b.final) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.requested, b.requested) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.waste, b.waste) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.failures, b.failures) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_STREQ(a.extfrag, b.extfrag) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_EQ(a.peak * 4096, a.requested + a.waste) TH_LOG("%s %s", policy, workloads[w]);
		EXPECT_LE(a.final, a.peak);
		printf("# %s %s: peak %" PRIu64 " final %" PRIu64 " extfrag %s\n", policy,
		       workloads[w], a.peak, a.final, a.extfrag);
	}
}

TEST_F_TIMEOUT(mmlab, deterministic_slub, 300)
{
	twice_the_same(_metadata, self->why, sizeof(self->why), "slub");
}

TEST_F_TIMEOUT(mmlab, deterministic_slab, 300)
{
	twice_the_same(_metadata, self->why, sizeof(self->why), "slab");
}

TEST_F_TIMEOUT(mmlab, deterministic_slob, 300)
{
	twice_the_same(_metadata, self->why, sizeof(self->why), "slob");
}

/* run policy=all: four result lines, no failures, a table with four columns. */
TEST_F_TIMEOUT(mmlab, report_all, 300)
{
	static const char *const cols[] = { "slab", "slub", "slob", "host" };
	char *text, line[1024];
	const char *p;
	struct result r;
	int header = 0, ret;
	unsigned int i;

	ASSERT_EQ(0, put("replay", "generate workload=kmalloc-mix seed=1 ops=%d", OPS));
	RUN("all");
	text = mmlab_read_view("replay", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, find_result(text, cols[i], &r, self->why, sizeof(self->why)))
			TH_LOG("%s", self->why);
		EXPECT_EQ(0, r.failures) TH_LOG("%s failed allocations", cols[i]);
		EXPECT_LE(OPS, r.ops) TH_LOG("%s", cols[i]);
		EXPECT_LT(0, r.peak) TH_LOG("%s", cols[i]);
	}
	/* The table: some line names the four columns, in the spec's order. */
	for (p = text; (ret = mmlab_next_line(&p, line, sizeof(line))) > 0;) {
		if (mmlab_match("(^|[ |])slab[ |]+slub[ |]+slob[ |]+host( |\\||$)", line))
			header++;
	}
	EXPECT_LE(0, ret);
	EXPECT_EQ(1, header) TH_LOG("no table header with slab slub slob host in:\n%.3000s", text);
	printf("%s", text);
	free(text);
}

/*
 * A trace bigger than the run's capacity: the fresh core runs out and so
 * does the host column, which gets the same budget instead of pushing the
 * VM towards its OOM killer; everything is given back either way.
 */
TEST_F_TIMEOUT(mmlab, capacity_bounds_every_column, 300)
{
	static const char *const cols[] = { "slub", "host" };
	struct result r;
	unsigned int i;

	/* fragmenter/1 holds ~1200 pages at its peak; 4 MiB is 1024. */
	ASSERT_EQ(0, put("replay", "generate workload=fragmenter seed=1 ops=5000"));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, put("replay", "run policy=%s capacity_mb=4", cols[i]))
			TH_LOG("run policy=%s capacity_mb=4 failed (see the kernel log)", cols[i]);
		RESULT(cols[i], &r);
		EXPECT_LT(0, r.failures) TH_LOG("%s: no allocation failed within 4 MiB", cols[i]);
		EXPECT_LE(r.peak, 1024 + 64) TH_LOG("%s: peak %" PRIu64 " pages > 4 MiB", cols[i],
						       r.peak);
	}
}

/*
 * The fresh core's watermarks: with the derived reserve a whole chunk
 * stays free and every order below the top reads -1.000; with
 * min_free_kbytes=128 the fragmenter's holes show (docs/replay.md).
 */
TEST_F_TIMEOUT(mmlab, min_free_kbytes_lets_extfrag_show, 300)
{
	struct result r;
	char *p, *v;
	int shown = 0;

	ASSERT_EQ(0, put("replay", "generate workload=fragmenter seed=1 ops=%d", OPS));
	ASSERT_EQ(0, put("replay", "run policy=slub min_free_kbytes=128"))
		TH_LOG("run policy=slub min_free_kbytes=128 failed (see the kernel log)");
	RESULT("slub", &r);
	/* Some order below the largest has an index >= 0: no block free there. */
	for (p = r.extfrag; (v = strsep(&p, ",")) && p;)
		shown += v[0] != '-';
	EXPECT_LT(0, shown) TH_LOG("extfrag %s: every order below the top has a free block",
				   r.extfrag);
}

/* Record control-file work, read it back, load it, replay it. */
TEST_F_TIMEOUT(mmlab, record_load_replay, 300)
{
	uint64_t cache, objs[4], km[3], handle, n, pfn, off;
	char *text, *saved;
	struct result r;
	unsigned int i;

	ASSERT_EQ(0, put("trace", "on events=1024"));
	ASSERT_EQ(0, CTL("cache_create name=rp_obj size=200")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %" SCNu64, &cache)) TH_LOG("%s", self->res);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, cache)) TH_LOG("%s", self->res);
		ASSERT_EQ(4, sscanf(self->res, "object %" SCNu64 " cache %" SCNu64 " pfn 0x%" SCNx64
				    " offset %" SCNu64, &objs[i], &n, &pfn, &off)) TH_LOG("%s", self->res);
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, CTL("kmalloc size=%u", 40 + 1000 * i)) TH_LOG("%s", self->res);
		ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &km[i])) TH_LOG("%s", self->res);
	}
	ASSERT_EQ(0, CTL("alloc order=2")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "handle %" SCNu64, &handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free handle=%" PRIu64, handle)) TH_LOG("%s", self->res);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, CTL("kfree object=%" PRIu64, km[i])) TH_LOG("%s", self->res);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, CTL("cache_free object=%" PRIu64, objs[i])) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, cache)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, put("trace", "off"));

	text = mmlab_read_view("trace", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	ASSERT_EQ(0, strncmp(text, "# mmlab-trace v1\n", 17)) TH_LOG("%.500s", text);
	n = event_lines(text);
	/* 1 create, 4 + 4 cache ops, 3 + 3 kmalloc ops, 2 page ops, 1 destroy. */
	EXPECT_LE(18, n) TH_LOG("%" PRIu64 " events in:\n%.4000s", n, text);
	EXPECT_NE(NULL, strstr(text, " cache_create ")) TH_LOG("%.4000s", text);
	EXPECT_NE(NULL, strstr(text, " name=rp_obj ")) TH_LOG("%.4000s", text);
	EXPECT_NE(NULL, strstr(text, " alloc_pages ")) TH_LOG("%.4000s", text);
	EXPECT_NE(NULL, strstr(text, " order=2")) TH_LOG("%.4000s", text);
	EXPECT_NE(NULL, strstr(text, " size=1040 ")) TH_LOG("%.4000s", text);
	EXPECT_NE(NULL, strstr(text, " cache_destroy ")) TH_LOG("%.4000s", text);
	/* Ids are hashed, never kernel addresses. */
	EXPECT_FALSE(has_raw_pointer(text)) TH_LOG("%.4000s", text);
	/* Recording is off: more work adds nothing. */
	ASSERT_EQ(0, CTL("kmalloc size=64")) TH_LOG("%s", self->res);
	saved = mmlab_read_view("trace", self->why, sizeof(self->why));
	ASSERT_NE(NULL, saved) TH_LOG("%s", self->why);
	EXPECT_EQ(n, event_lines(saved));
	free(saved);

	/* Load it back: "load" first, the text in small writes, parsed at close. */
	saved = malloc(strlen(text) + 8);
	ASSERT_NE(NULL, saved);
	sprintf(saved, "load\n%s", text);
	ASSERT_EQ(0, put_file("replay", saved, strlen(saved), 100))
		TH_LOG("loading the recorded trace failed (see the kernel log)");
	free(saved);
	RUN("slub");
	RESULT("slub", &r);
	EXPECT_EQ(n, r.ops) TH_LOG("%" PRIu64 " events recorded, %" PRIu64 " replayed", n, r.ops);
	EXPECT_EQ(0, r.failures);
	EXPECT_LE(r.final, r.peak);
	RUN("host");
	RESULT("host", &r);
	EXPECT_EQ(n, r.ops);
	EXPECT_EQ(0, r.failures);

	/* The trace clears. */
	ASSERT_EQ(0, put("trace", "clear"));
	saved = mmlab_read_view("trace", self->why, sizeof(self->why));
	ASSERT_NE(NULL, saved) TH_LOG("%s", self->why);
	EXPECT_EQ(0, event_lines(saved)) TH_LOG("%.2000s", saved);
	free(saved);
	free(text);
}

/* A generated trace read from replay_trace, loaded again: the same run. */
TEST_F_TIMEOUT(mmlab, save_and_reload, 300)
{
	struct result a, b;
	char *text;

	ASSERT_EQ(0, put("replay", "generate workload=fragmenter seed=99 ops=%d", OPS));
	RUN("slub");
	RESULT("slub", &a);
	text = malloc(TEXT_MAX);
	ASSERT_NE(NULL, text);
	ASSERT_LT(0, mmlab_read_file("replay_trace", text, TEXT_MAX)) TH_LOG("read replay_trace");
	ASSERT_EQ(0, strncmp(text, "# mmlab-trace v1\n", 17)) TH_LOG("%.500s", text);
	EXPECT_EQ(a.ops, event_lines(text));
	/* A text starting with the header loads without "load"; 4 KiB writes. */
	ASSERT_EQ(0, put_file("replay", text, strlen(text), 4096));
	RUN("slub");
	RESULT("slub", &b);
	EXPECT_EQ(a.ops, b.ops);
	EXPECT_EQ(a.peak, b.peak);
	EXPECT_EQ(a.final, b.final);
	EXPECT_EQ(a.requested, b.requested);
	EXPECT_STREQ(a.extfrag, b.extfrag);
	free(text);
}

/* extfrag_index: Linux's format, one line per zone. */
TEST_F(mmlab, extfrag_index_format)
{
	char buf[4096], line[512], re[128];
	const char *p = buf;
	int ret, lines = 0;

	/* Orders 0..chunk_order, "%2d.%03d " each, after "Node %d, zone %8s ". */
	snprintf(re, sizeof(re), "^Node [0-9]+, zone +[A-Za-z0-9]+ ([ -][0-9]\\.[0-9]{3} ){%u}$",
		 (unsigned int)self->st.chunk_order + 1);
	ASSERT_EQ(0, CTL("alloc order=0")) TH_LOG("%s", self->res);
	ASSERT_LT(0, mmlab_read_file("extfrag_index", buf, sizeof(buf)));
	while ((ret = mmlab_next_line(&p, line, sizeof(line))) > 0) {
		EXPECT_TRUE(mmlab_match(re, line)) TH_LOG("'%s' !~ %s", line, re);
		lines++;
	}
	EXPECT_EQ(0, ret);
	EXPECT_LE(1, lines) TH_LOG("%s", buf);
}

TEST_F(mmlab, bad_input)
{
	static const char *const bad_trace[] = { "bogus", "on events=1", "on events=abc",
						 "on events=99999999999", "off now", "clear all",
						 "clear\nbogus", NULL };
	static const char *const bad_replay[] = {
		"bogus", "run", "run policy=nope", "run policy=slub capacity_mb=0",
		"run policy=slub color=red", "run policy=slub min_free_kbytes=x",
		"run policy=slub capacity_mb=4 min_free_kbytes=1024",
		"generate workload=nope seed=1 ops=10",
		"generate workload=kmalloc-mix seed=1", "generate workload=kmalloc-mix seed=x ops=1",
		"generate workload=kmalloc-mix seed=1 ops=0", NULL
	};
	const char *volatile cmd;	/* volatile: else gcc 12 fears a NULL in TH_LOG */
	char big[600], *text;
	unsigned int i;

	for (i = 0; bad_trace[i]; i++) {
		cmd = bad_trace[i];
		EXPECT_EQ(-EINVAL, put("trace", "%s", cmd)) TH_LOG("trace '%s'", cmd);
	}
	for (i = 0; bad_replay[i]; i++) {
		cmd = bad_replay[i];
		EXPECT_EQ(-EINVAL, put("replay", "%s", cmd)) TH_LOG("replay '%s'", cmd);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT_EQ(-EINVAL, put("replay", "run policy=%s", big));
	/* A bad trace: the write is accepted, close() reports the parse error. */
	EXPECT_EQ(-EINVAL, put("replay", "# mmlab-trace v1\n0 1 bogus_op x=1\n"));
	EXPECT_EQ(-EINVAL, put("replay", "load\n0 1 kmalloc id=1 size=notanumber gfp=GFP_KERNEL\n"));
	/* ... and replay says so, for shells that ignore close()'s error. */
	text = mmlab_read_view("replay", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	EXPECT_NE(NULL, strstr(text, "# last load refused: line 1: ")) TH_LOG("%s", text);
	free(text);
	/* Read-only files. */
	EXPECT_EQ(-EINVAL, put("replay_trace", "x"));
	EXPECT_EQ(-EINVAL, put("extfrag_index", "x"));
}

/*
 * One write may hold several commands; '#' lines are comments, so the text
 * a file shows (when it has no events or results) can be written back, as
 * tools that save and restore debugfs files (and fuzz_control) do.
 */
TEST_F_TIMEOUT(mmlab, lines_and_comments, 300)
{
	char *text;
	struct result r;

	ASSERT_EQ(0, put("replay", "# two commands\ngenerate workload=kmalloc-mix seed=5 ops=300\n"
			 "\nrun policy=slub\n"));
	RESULT("slub", &r);
	EXPECT_STREQ("kmalloc-mix/5", r.trace);
	EXPECT_EQ(300, r.ops);
	ASSERT_EQ(0, put("replay", "generate workload=cache-churn seed=5 ops=300"));
	text = mmlab_read_view("replay", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	EXPECT_EQ('#', text[0]) TH_LOG("%s", text);
	EXPECT_EQ(0, put_file("replay", text, strlen(text), strlen(text))) TH_LOG("'%s'", text);
	free(text);
	ASSERT_EQ(0, put("trace", "clear"));
	text = mmlab_read_view("trace", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	EXPECT_EQ(0, put_file("trace", text, strlen(text), strlen(text))) TH_LOG("'%s'", text);
	free(text);
	EXPECT_EQ(0, put("trace", "# nothing\n\n"));
	/* A failing line stops the write; the lines before it ran. */
	EXPECT_EQ(-EINVAL, put("replay", "generate workload=fragmenter seed=5 ops=100\nbogus\n"
			       "generate workload=kmalloc-mix seed=6 ops=100\n"));
	text = mmlab_read_view("replay", self->why, sizeof(self->why));
	ASSERT_NE(NULL, text) TH_LOG("%s", self->why);
	EXPECT_NE(NULL, strstr(text, "fragmenter/5")) TH_LOG("%s", text);
	free(text);
}

/* Runs use fresh cores and the host's allocators, never the main core. */
TEST_F_TIMEOUT(mmlab, main_core_untouched, 300)
{
	struct mmlab_stats before, after;
	uint64_t slab_before = 0, slab_after = 0;

	mmlab_settle();
	STATS(&before);
	mmlab_stats_get(&before, "slab_pages", &slab_before);
	ASSERT_EQ(0, put("replay", "generate workload=cache-churn seed=3 ops=%d", OPS));
	RUN("all");
	mmlab_settle();
	STATS(&after);
	mmlab_stats_get(&after, "slab_pages", &slab_after);
	EXPECT_EQ(before.used_pages, after.used_pages);
	EXPECT_EQ(slab_before, slab_after);
	EXPECT_EQ(before.control_handles, after.control_handles);
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	STATS(&after);
	EXPECT_EQ(0, after.host_chunks) TH_LOG("every chunk back to the host");
	EXPECT_EQ(0, after.used_pages);
}

MMLAB_HARNESS_MAIN
