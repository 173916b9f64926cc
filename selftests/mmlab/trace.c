// SPDX-License-Identifier: GPL-2.0
/*
 * trace - the tracepoints mmlab:mm_page_alloc, mmlab:mm_page_free and
 * mmlab:mm_page_pcpu_drain, and the object events mmlab:kmem_cache_alloc,
 * kmem_cache_free, kmalloc and kfree in tracefs: their fields are those of
 * Linux's kmem: events of the same name on the running kernel (same name,
 * same type), and they fire with the pfn and order (pages) or sizes, gfp,
 * cache name and pointer (objects) of what was allocated, freed and
 * drained. The events are recorded in a tracefs instance of their own, so
 * the global trace buffer is left alone.
 */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/mmlab_selftest"
#define TRACE_MAX	(4 << 20)

static const char *const events[] = { "mm_page_alloc", "mm_page_free", "mm_page_pcpu_drain",
				      "kmem_cache_alloc", "kmem_cache_free", "kmalloc", "kfree" };
#define NR_EVENTS (sizeof(events) / sizeof(events[0]))

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

/* The whole file at path, NUL-terminated, into a malloc()ed buffer; or NULL. */
static char *slurp(const char *path, size_t max)
{
	char *buf = malloc(max);
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (len + 1 < max && (n = read(fd, buf + len, max - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

/*
 * The event's own fields from its format file: "field:TYPE NAME;" lines
 * after the common_* ones, as "TYPE NAME" strings joined by '\n'.
 */
static int event_fields(const char *system, const char *event, char *out, size_t cap)
{
	char path[256], *fmt, *p, *end;
	size_t len = 0;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/format", system, event);
	fmt = slurp(path, 16384);
	if (!fmt)
		return -errno;
	out[0] = '\0';
	for (p = strstr(fmt, "field:"); p; p = strstr(p, "field:")) {
		p += strlen("field:");
		end = strchr(p, ';');
		if (!end)
			break;
		if (!strstr(p, "common_") || strstr(p, "common_") > end)
			len += snprintf(out + len, cap - len, "%.*s\n", (int)(end - p), p);
		p = end;
	}
	free(fmt);
	return 0;
}

/* Is "TYPE NAME" (one line) among fields? */
static int has_field(const char *fields, const char *decl)
{
	size_t n = strlen(decl);
	const char *p;

	for (p = fields; (p = strstr(p, decl)); p += n)
		if ((p == fields || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

FIXTURE(trace) {
	int fd;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	struct mmlab_stats st;
	char *log;
};

FIXTURE_SETUP(trace)
{
	char path[256];
	unsigned int i;
	int ret;

	self->log = NULL;
	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s/control: %s", mmlab_dir(), strerror(-self->fd));
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&self->st, self->why, sizeof(self->why)))
		TH_LOG("stats: %s", self->why);
	if (access(TRACEFS "/events", F_OK))
		SKIP(return, "%s: %s (tracefs not mounted?)", TRACEFS, strerror(errno));
	ASSERT_EQ(0, access(TRACEFS "/events/mmlab", F_OK))
		TH_LOG("no mmlab events in %s/events", TRACEFS);
	if (mkdir(INSTANCE, 0755) && errno != EEXIST)
		ASSERT_EQ(0, -errno) TH_LOG("mkdir %s: %s", INSTANCE, strerror(errno));
	for (i = 0; i < NR_EVENTS; i++) {
		snprintf(path, sizeof(path), INSTANCE "/events/mmlab/%s/enable", events[i]);
		ret = write_file(path, "1");
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", path, strerror(-ret));
	}
	ASSERT_EQ(0, write_file(INSTANCE "/trace", ""));
	ASSERT_EQ(0, write_file(INSTANCE "/tracing_on", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	int ret;

	_metadata->trigger = 0;
	free(self->log);
	if (!access(INSTANCE, F_OK)) {
		write_file(INSTANCE "/events/enable", "0");
		if (rmdir(INSTANCE))
			TH_LOG("rmdir %s: %s", INSTANCE, strerror(errno));
	}
	if (self->fd < 0)
		return;
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("teardown: %s", self->res);
	ret = mmlab_ctl(self->fd, self->res, sizeof(self->res), "check");
	EXPECT_EQ(0, ret) TH_LOG("teardown check: %s (%s)", strerror(-ret), self->res);
	close(self->fd);
}

/* Stop recording and read what the instance holds. */
#define READ_TRACE() do {							\
		free(self->log);						\
		self->log = slurp(INSTANCE "/trace", TRACE_MAX);		\
		ASSERT_NE(NULL, self->log) TH_LOG("read %s/trace", INSTANCE);	\
	} while (0)

/* The first "EVENT: pfn=0xPFN order=ORDER" record, or NULL. */
static const char *find_event(const char *log, const char *event, uint64_t pfn,
			      unsigned int order)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), " %s: pfn=0x%" PRIx64 " order=%u", event, pfn, order);
	for (p = strstr(log, pat); p; p = strstr(p + 1, pat)) {
		char c = p[strlen(pat)];

		if (c == ' ' || c == '\n' || c == '\0')
			return p;
	}
	return NULL;
}

/* The rest of the line p is on, as a string (static buffer). */
static const char *line_of(const char *p)
{
	static char buf[512];
	const char *nl = strchr(p, '\n');

	snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
	return buf;
}

/*
 * Every field of the kmem: event of the same name is in mmlab's with the same
 * type; the fields listed here are there in any case (also on a kernel
 * without the kmem: event to compare with).
 */
TEST_F(trace, fields_match_kmem)
{
	static const char *const must[][7] = {
		{ "unsigned long pfn", "unsigned int order", "unsigned long gfp_flags" },
		{ "unsigned long pfn", "unsigned int order" },
		{ "unsigned long pfn", "unsigned int order" },
		{ "unsigned long call_site", "const void * ptr", "size_t bytes_req",
		  "size_t bytes_alloc", "unsigned long gfp_flags", "int node", "bool accounted" },
		{ "unsigned long call_site", "const void * ptr", "__data_loc char[] name" },
		{ "unsigned long call_site", "const void * ptr", "size_t bytes_req",
		  "size_t bytes_alloc", "unsigned long gfp_flags", "int node" },
		{ "unsigned long call_site", "const void * ptr" },
	};
	char ours[2048], kmem[2048], *line, *save;
	unsigned int i, j;
	int ret;

	for (i = 0; i < NR_EVENTS; i++) {
		ret = event_fields("mmlab", events[i], ours, sizeof(ours));
		ASSERT_EQ(0, ret) TH_LOG("mmlab:%s format: %s", events[i], strerror(-ret));
		for (j = 0; j < 7; j++) {
			const char *decl = must[i][j];

			if (!decl)
				continue;
			EXPECT_TRUE(has_field(ours, decl))
				TH_LOG("mmlab:%s has no field '%s'; it has:\n%s", events[i], decl,
				       ours);
		}
		if (event_fields("kmem", events[i], kmem, sizeof(kmem))) {
			TH_LOG("no kmem:%s on this kernel to compare with", events[i]);
			continue;
		}
		for (line = kmem; *line; line = save + 1) {
			save = strchr(line, '\n');
			if (!save)
				break;
			*save = '\0';
			EXPECT_TRUE(has_field(ours, line))
				TH_LOG("kmem:%s has '%s', mmlab:%s does not; it has:\n%s",
				       events[i], line, events[i], ours);
		}
	}
}

/*
 * Allocations (through the per-CPU lists at order 0, the buddy at order 4,
 * from DMA32), their frees and a drain each leave their record with the
 * right pfn and order; alloc records decode gfp_flags and name the zone.
 */
TEST_F(trace, events_fire)
{
	struct mmlab_block a0, a4, ad;
	const char *p;

	ASSERT_EQ(0, mmlab_alloc(self->fd, 0, &a0, self->res, sizeof(self->res)))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, mmlab_alloc_args(self->fd, ORD(4), "gfp=GFP_ATOMIC", &a4, self->res,
				      sizeof(self->res)))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, mmlab_alloc_args(self->fd, 0, "gfp=GFP_KERNEL|GFP_DMA32", &ad, self->res,
				      sizeof(self->res)))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, a0.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, a4.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("free %" PRIu64, ad.handle)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	READ_TRACE();

	p = find_event(self->log, "mm_page_alloc", a0.pfn, 0);
	ASSERT_NE(NULL, p) TH_LOG("no mm_page_alloc for pfn 0x%" PRIx64 " order 0 in:\n%.4000s",
				  a0.pfn, self->log);
	EXPECT_NE(NULL, strstr(line_of(p), "gfp_flags=GFP_KERNEL")) TH_LOG("%s", line_of(p));
	EXPECT_NE(NULL, strstr(line_of(p), a0.zone)) TH_LOG("%s", line_of(p));
	p = find_event(self->log, "mm_page_alloc", a4.pfn, a4.order);
	ASSERT_NE(NULL, p) TH_LOG("no mm_page_alloc for pfn 0x%" PRIx64 " order %u", a4.pfn,
				  a4.order);
	EXPECT_NE(NULL, strstr(line_of(p), "gfp_flags=GFP_ATOMIC")) TH_LOG("%s", line_of(p));
	p = find_event(self->log, "mm_page_alloc", ad.pfn, 0);
	ASSERT_NE(NULL, p) TH_LOG("no mm_page_alloc for pfn 0x%" PRIx64 " order 0", ad.pfn);
	EXPECT_NE(NULL, strstr(line_of(p), "DMA32")) TH_LOG("%s", line_of(p));

	EXPECT_NE(NULL, find_event(self->log, "mm_page_free", a0.pfn, 0))
		TH_LOG("no mm_page_free for pfn 0x%" PRIx64 " order 0", a0.pfn);
	EXPECT_NE(NULL, find_event(self->log, "mm_page_free", a4.pfn, a4.order))
		TH_LOG("no mm_page_free for pfn 0x%" PRIx64 " order %u", a4.pfn, a4.order);
	EXPECT_NE(NULL, find_event(self->log, "mm_page_free", ad.pfn, 0))
		TH_LOG("no mm_page_free for pfn 0x%" PRIx64 " order 0", ad.pfn);
	/* Order 0 went through a per-CPU list, so it came back by a drain. */
	EXPECT_NE(NULL, find_event(self->log, "mm_page_pcpu_drain", a0.pfn, 0))
		TH_LOG("no mm_page_pcpu_drain for pfn 0x%" PRIx64 " order 0", a0.pfn);
	EXPECT_NE(NULL, find_event(self->log, "mm_page_pcpu_drain", ad.pfn, 0))
		TH_LOG("no mm_page_pcpu_drain for pfn 0x%" PRIx64 " order 0", ad.pfn);
}

/* The drain records of one "drain" add up to the pages it says it drained. */
TEST_F(trace, drain_records_add_up)
{
	uint64_t handles[40], pages = 0, pfn;
	struct mmlab_block b;
	unsigned int i, order;
	int64_t drained;
	const char *p;

	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, mmlab_alloc(self->fd, i % 4 == 3 ? ORD(1) : 0, &b, self->res,
					 sizeof(self->res)))
			TH_LOG("%s", self->res);
		handles[i] = b.handle;
	}
	for (i = 0; i < 40; i++)
		ASSERT_EQ(0, CTL("free %" PRIu64, handles[i])) TH_LOG("%s", self->res);
	ASSERT_EQ(0, write_file(INSTANCE "/trace", ""));
	ASSERT_EQ(0, CTL("drain")) TH_LOG("%s", self->res);
	drained = mmlab_result_num(self->res, "drained ", " pages");
	ASSERT_LE(0, drained) TH_LOG("'%s'", self->res);
	READ_TRACE();
	for (p = strstr(self->log, " mm_page_pcpu_drain: pfn=0x"); p;
	     p = strstr(p + 1, " mm_page_pcpu_drain: pfn=0x")) {
		ASSERT_EQ(2, sscanf(p, " mm_page_pcpu_drain: pfn=0x%" SCNx64 " order=%u", &pfn,
				    &order)) TH_LOG("%s", line_of(p));
		pages += 1ull << order;
	}
	EXPECT_EQ((uint64_t)drained, pages)
		TH_LOG("'%s' but the mm_page_pcpu_drain records add up to %" PRIu64 " pages",
		       self->res, pages);
	EXPECT_EQ(NULL, strstr(self->log, "LOST")) TH_LOG("events lost");
}

/*
 * The first record of " EVENT: " whose line holds every one of the given
 * substrings (NULL-terminated), or NULL.
 */
static const char *find_record(const char *log, const char *event, ...)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s: ", event);
	for (p = strstr(log, pat); p; p = strstr(p + 1, pat)) {
		const char *line = line_of(p), *want;
		int all = 1;
		va_list ap;

		va_start(ap, event);
		while ((want = va_arg(ap, const char *)))
			if (!strstr(line, want))
				all = 0;
		va_end(ap);
		if (all)
			return p;
	}
	return NULL;
}

/* The "ptr=..." token of a record, with a trailing space (static buffer). */
static const char *ptr_of(const char *rec)
{
	static char buf[64];
	const char *p = strstr(line_of(rec), "ptr="), *end;

	if (!p)
		return "ptr=?";
	end = strchr(p, ' ');
	snprintf(buf, sizeof(buf), "%.*s ", end ? (int)(end - p) : (int)strlen(p), p);
	return buf;
}

/* kfree's record ends with ptr: match "ptr=X" at the end of the line. */
static const char *find_kfree(const char *log, const char *ptr_sp)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "%.*s", (int)strlen(ptr_sp) - 1, ptr_sp);
	for (p = strstr(log, " kfree: "); p; p = strstr(p + 1, " kfree: ")) {
		const char *line = line_of(p);
		size_t l = strlen(line), w = strlen(want);

		if (l >= w && !strcmp(line + l - w, want))
			return p;
	}
	return NULL;
}

/*
 * kmalloc and kfree through the control file: a kmalloc record with the
 * requested and the class size and the gfp, then a kfree of the same pointer.
 */
TEST_F(trace, kmalloc_kfree_fire)
{
	unsigned int id, ksize;
	char want[64];
	const char *p;

	ASSERT_EQ(0, CTL("kmalloc size=100 gfp=GFP_ATOMIC")) TH_LOG("%s", self->res);
	ASSERT_EQ(2, sscanf(self->res, "object %u size 100 ksize %u", &id, &ksize))
		TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("kfree object=%u", id)) TH_LOG("%s", self->res);
	READ_TRACE();

	snprintf(want, sizeof(want), "bytes_alloc=%u ", ksize);
	p = find_record(self->log, "kmalloc", "bytes_req=100 ", want, NULL);
	ASSERT_NE(NULL, p) TH_LOG("no kmalloc record with bytes_req=100 %s in:\n%.4000s", want,
				  self->log);
	EXPECT_NE(NULL, strstr(line_of(p), "gfp_flags=GFP_ATOMIC")) TH_LOG("%s", line_of(p));
	EXPECT_NE(NULL, strstr(line_of(p), "node=-1")) TH_LOG("%s", line_of(p));
	EXPECT_NE(NULL, find_kfree(self->log, ptr_of(p)))
		TH_LOG("no kfree record for the kmalloc %s in:\n%.4000s", line_of(p), self->log);
}

/*
 * kmem_cache_alloc and kmem_cache_free through the control file: the object
 * size and the cache's stride, the gfp, then a free of the same pointer
 * naming the cache.
 */
TEST_F(trace, kmem_cache_events_fire)
{
	unsigned int cid, stride, obj;
	char want[64];
	const char *p, *f;

	ASSERT_EQ(0, CTL("cache_create name=trace_test size=200")) TH_LOG("%s", self->res);
	ASSERT_EQ(2, sscanf(self->res, "cache %u name trace_test objsize 200 size %u", &cid,
			    &stride)) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("cache_alloc cache=%u gfp=GFP_KERNEL", cid)) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "object %u", &obj)) TH_LOG("'%s'", self->res);
	ASSERT_EQ(0, CTL("cache_free object=%u", obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_destroy cache=%u", cid)) TH_LOG("%s", self->res);
	READ_TRACE();

	snprintf(want, sizeof(want), "bytes_alloc=%u ", stride);
	p = find_record(self->log, "kmem_cache_alloc", "bytes_req=200 ", want, NULL);
	ASSERT_NE(NULL, p) TH_LOG("no kmem_cache_alloc record with bytes_req=200 %s in:\n%.4000s",
				  want, self->log);
	EXPECT_NE(NULL, strstr(line_of(p), "gfp_flags=GFP_KERNEL")) TH_LOG("%s", line_of(p));
	EXPECT_NE(NULL, strstr(line_of(p), "accounted=false")) TH_LOG("%s", line_of(p));
	f = find_record(self->log, "kmem_cache_free", ptr_of(p), "name=trace_test", NULL);
	EXPECT_NE(NULL, f) TH_LOG("no kmem_cache_free of %sname=trace_test in:\n%.4000s",
				  ptr_of(p), self->log);
}

MMLAB_HARNESS_MAIN
