// SPDX-License-Identifier: GPL-2.0
/*
 * trace - the tracepoints mmlab:mm_page_alloc, mmlab:mm_page_free and
 * mmlab:mm_page_pcpu_drain in tracefs: their fields are those of Linux's
 * kmem: events of the same name (same name, same type), and they fire with
 * the pfn and order of what was allocated, freed and drained. The events are
 * recorded in a tracefs instance of their own, so the global trace buffer
 * is left alone.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/mmlab_selftest"
#define TRACE_MAX	(4 << 20)

static const char *const events[] = { "mm_page_alloc", "mm_page_free", "mm_page_pcpu_drain" };
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
 * Every field of kmem:mm_page_alloc, kmem:mm_page_free and
 * kmem:mm_page_pcpu_drain is in mmlab's event of the same name with the same
 * type; at least pfn, order and (alloc) gfp_flags are there in any case.
 */
TEST_F(trace, fields_match_kmem)
{
	static const char *const must[][3] = {
		{ "unsigned long pfn", "unsigned int order", "unsigned long gfp_flags" },
		{ "unsigned long pfn", "unsigned int order", NULL },
		{ "unsigned long pfn", "unsigned int order", NULL },
	};
	char ours[2048], kmem[2048], *line, *save;
	unsigned int i, j;
	int ret;

	for (i = 0; i < NR_EVENTS; i++) {
		ret = event_fields("mmlab", events[i], ours, sizeof(ours));
		ASSERT_EQ(0, ret) TH_LOG("mmlab:%s format: %s", events[i], strerror(-ret));
		for (j = 0; j < 3; j++) {
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

MMLAB_HARNESS_MAIN
