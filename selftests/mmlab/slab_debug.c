// SPDX-License-Identifier: GPL-2.0
/*
 * slab_debug - mmlab's SLUB-style debugging through debugfs
 * (docs/debugging.md): cache_create debug=FZPU and its layout, cache_debug
 * on an empty and a busy cache, the slub_debug file, and the test-only
 * `bug` commands (use_after_free, double_free, redzone, bad_free) on a
 * control cache and on kmalloc-64: each must put its SLUB-shaped report
 * into the kernel log (BUG line, the dump, a FIX line), count it, and
 * leave mmlab working (the cache allocates again, `check` says ok); with
 * the module loaded with page_poison=1, bug page_use_after_free too.
 */
#include "kselftest_harness.h"

#include "mmlab_helpers.h"

#define KMSG_MAX (256 * 1024)

/* Runs cmd; the new kernel log lines go to log (cleared first). */
static int ctl_logged(int fd, char *res, size_t cap, int kfd, char *log, const char *cmd)
{
	int ret;

	log[0] = '\0';
	ret = mmlab_ctl(fd, res, cap, "%s", cmd);
	mmlab_kmsg_read(kfd, log, KMSG_MAX);
	return ret;
}

static int count(const char *log, const char *needle)
{
	const char *p;
	int n = 0;

	for (p = log; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

FIXTURE(dbg) {
	int fd, kfd;
	char res[MMLAB_RESULT_MAX];
	char *log;
};

FIXTURE_SETUP(dbg)
{
	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open control: %s", strerror(-self->fd));
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	self->kfd = mmlab_kmsg_open();
	ASSERT_LE(0, self->kfd) TH_LOG("/dev/kmsg: %s", strerror(-self->kfd));
	self->log = calloc(1, KMSG_MAX);
	ASSERT_NE(NULL, self->log);
}

FIXTURE_TEARDOWN(dbg)
{
	_metadata->trigger = 0;
	if (self->fd < 0)
		return;
	mmlab_ctl(self->fd, self->res, sizeof(self->res), "cache_debug name=kmalloc-64 flags=-");
	EXPECT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res))) TH_LOG("%s", self->res);
	EXPECT_EQ(0, mmlab_ctl(self->fd, self->res, sizeof(self->res), "check"))
		TH_LOG("teardown check: %s", self->res);
	EXPECT_STREQ("ok", self->res);
	close(self->fd);
	close(self->kfd);
	free(self->log);
}

#define CTL(...)	mmlab_ctl(self->fd, self->res, sizeof(self->res), __VA_ARGS__)
#define LOGGED(cmd)	ctl_logged(self->fd, self->res, sizeof(self->res), self->kfd, self->log, cmd)

TEST_F(dbg, debug_layout)
{
	uint64_t id, obj;
	unsigned int objsize, size;

	ASSERT_EQ(0, CTL("cache_create name=sd_layout size=64 debug=FZPU")) TH_LOG("%s", self->res);
	ASSERT_EQ(3, sscanf(self->res, "cache %" SCNu64 " name sd_layout objsize %u size %u",
			    &id, &objsize, &size)) TH_LOG("%s", self->res);
	EXPECT_EQ(64, objsize);
	/* 8 left red zone + 64 + 8 right red zone + 8 free pointer + 2 * 24 tracks */
	EXPECT_EQ(136, size) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id));
	EXPECT_NE(NULL, strstr(self->res, " debug FZPU ")) TH_LOG("%s", self->res);
	/* A new object holds POISON_FREE. */
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("obj_check object=%" PRIu64 " byte=0x6b len=63", obj))
		TH_LOG("%s", self->res);
	/* Not while it has an object; then switched off, the plain layout is back. */
	EXPECT_EQ(-EBUSY, CTL("cache_debug cache=%" PRIu64 " flags=-", id));
	EXPECT_NE(NULL, strstr(self->res, "not empty")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_free %" PRIu64, obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_debug cache=%" PRIu64 " flags=-", id)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id));
	EXPECT_EQ(64, info_field(self->res, "size")) TH_LOG("%s", self->res);
	EXPECT_EQ(-EINVAL, CTL("cache_debug cache=%" PRIu64 " flags=FQ", id));
	EXPECT_EQ(-EINVAL, CTL("cache_create name=sd_bad size=64 debug=X"));
	ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, id)) TH_LOG("%s", self->res);
}

/* Each deliberate bug: its report in the log, counted, mmlab still fine. */
static void run_bug(struct __test_metadata *_metadata, FIXTURE_DATA(dbg) *self,
		    const char *cmd, const char *cache, const char *what, const char *fix)
{
	char want[128];

	ASSERT_EQ(0, LOGGED(cmd)) TH_LOG("%s: %s", cmd, self->res);
	EXPECT_NE(NULL, strstr(self->res, "; 1 caught")) TH_LOG("%s: %s", cmd, self->res);
	snprintf(want, sizeof(want), "BUG %s (mmlab): %s", cache, what);
	EXPECT_EQ(1, count(self->log, want)) TH_LOG("%s: log:\n%s", cmd, self->log);
	EXPECT_LE(1, count(self->log, "============================================="));
	snprintf(want, sizeof(want), "FIX %s: %s", cache, fix);
	EXPECT_EQ(1, count(self->log, want)) TH_LOG("%s: log:\n%s", cmd, self->log);
	EXPECT_EQ(0, count(self->log, "BUG:")) TH_LOG("never Linux's own BUG: line");
	EXPECT_EQ(0, CTL("check")) TH_LOG("after %s: %s", cmd, self->res);
}

TEST_F(dbg, bugs_on_a_control_cache)
{
	uint64_t id, obj;
	char cmd[96];

	ASSERT_EQ(0, CTL("cache_create name=sd_bugs size=100 debug=FZPU")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %" SCNu64, &id));
	snprintf(cmd, sizeof(cmd), "bug use_after_free cache=%" PRIu64, id);
	run_bug(_metadata, self, cmd, "sd_bugs", "Poison overwritten", "Restoring Poison 0x");
	EXPECT_LE(1, count(self->log, ". First byte 0x40 instead of 0x6b")) TH_LOG("%s", self->log);
	EXPECT_LE(1, count(self->log, "Allocated in mmlab_debug_bug_site")) TH_LOG("%s", self->log);
	EXPECT_LE(1, count(self->log, "Freed in mmlab_debug_bug_site")) TH_LOG("%s", self->log);
	EXPECT_LE(1, count(self->log, "Object   ")) TH_LOG("%s", self->log);
	EXPECT_LE(1, count(self->log, "Redzone  ")) TH_LOG("%s", self->log);
	snprintf(cmd, sizeof(cmd), "bug double_free cache=%" PRIu64, id);
	run_bug(_metadata, self, cmd, "sd_bugs", "Object already free", "Object at 0x");
	snprintf(cmd, sizeof(cmd), "bug redzone cache=%" PRIu64, id);
	run_bug(_metadata, self, cmd, "sd_bugs", "Right Redzone overwritten",
		"Restoring Right Redzone 0x");
	EXPECT_LE(1, count(self->log, "First byte 0x0 instead of 0xcc")) TH_LOG("%s", self->log);
	snprintf(cmd, sizeof(cmd), "bug bad_free cache=%" PRIu64, id);
	run_bug(_metadata, self, cmd, "sd_bugs", "Invalid object pointer 0x", "Object at 0x");
	/* Counted per cache. */
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id));
	EXPECT_EQ(1, info_field(self->res, "poison_overwrites")) TH_LOG("%s", self->res);
	EXPECT_EQ(1, info_field(self->res, "redzone_overwrites")) TH_LOG("%s", self->res);
	EXPECT_EQ(2, info_field(self->res, "bad_frees")) TH_LOG("%s", self->res);
	/* The cache still works and goes cleanly. */
	ASSERT_EQ(0, CTL("cache_alloc cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_free %" PRIu64, obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, id)) TH_LOG("%s", self->res);
}

TEST_F(dbg, bugs_on_kmalloc_64)
{
	uint64_t obj;
	int ret = CTL("cache_debug name=kmalloc-64 flags=FZPU");

	if (ret == -EBUSY)
		SKIP(return, "kmalloc-64 is in use: %.200s", self->res);
	ASSERT_EQ(0, ret) TH_LOG("%s", self->res);
	run_bug(_metadata, self, "bug use_after_free name=kmalloc-64", "kmalloc-64",
		"Poison overwritten", "Restoring Poison 0x");
	run_bug(_metadata, self, "bug double_free name=kmalloc-64", "kmalloc-64",
		"Object already free", "Object at 0x");
	run_bug(_metadata, self, "bug redzone name=kmalloc-64", "kmalloc-64",
		"Right Redzone overwritten", "Restoring Right Redzone 0x");
	/* kmalloc still works through the debug path. */
	ASSERT_EQ(0, CTL("kmalloc size=50")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "object %" SCNu64, &obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("obj_check object=%" PRIu64 " byte=0x6b len=50", obj))
		TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("kfree %" PRIu64, obj)) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_debug name=kmalloc-64 flags=-")) TH_LOG("%s", self->res);
}

TEST_F(dbg, slub_debug_file)
{
	char buf[128], path[256];
	uint64_t id;
	ssize_t n;
	int fd;

	mmlab_path(path, sizeof(path), "slub_debug");
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_EQ(13, write(fd, "ZP,sd_default", 13)) TH_LOG("%s", strerror(errno));
	close(fd);
	n = mmlab_read_file("slub_debug", buf, sizeof(buf));
	ASSERT_LT(0, n);
	EXPECT_STREQ("ZP,sd_default\n", buf);
	ASSERT_EQ(0, CTL("cache_create name=sd_default size=32")) TH_LOG("%s", self->res);
	ASSERT_EQ(1, sscanf(self->res, "cache %" SCNu64, &id));
	ASSERT_EQ(0, CTL("cache_info cache=%" PRIu64, id));
	EXPECT_NE(NULL, strstr(self->res, " debug ZP ")) TH_LOG("%s", self->res);
	ASSERT_EQ(0, CTL("cache_destroy cache=%" PRIu64, id)) TH_LOG("%s", self->res);
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "FQ", 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(2, write(fd, "-\n", 2));
	close(fd);
	n = mmlab_read_file("slub_debug", buf, sizeof(buf));
	EXPECT_STREQ("-\n", buf);
	/* page_poison: shown; switching on after the first page is refused. */
	n = mmlab_read_file("page_poison", buf, sizeof(buf));
	ASSERT_LT(0, n);
	EXPECT_TRUE(!strcmp(buf, "0\n") || !strcmp(buf, "1\n")) TH_LOG("'%s'", buf);
}

/* Only with the module loaded with page_poison=1 (make check's debug run). */
TEST_F(dbg, page_use_after_free)
{
	char buf[16];

	ASSERT_LT(0, mmlab_read_file("page_poison", buf, sizeof(buf)));
	if (strcmp(buf, "1\n")) {
		EXPECT_EQ(-EINVAL, CTL("bug page_use_after_free"));
		SKIP(return, "page_poison is off (load with page_poison=1)");
	}
	ASSERT_EQ(0, LOGGED("bug page_use_after_free")) TH_LOG("%s", self->res);
	EXPECT_NE(NULL, strstr(self->res, "; 1 caught")) TH_LOG("%s", self->res);
	EXPECT_EQ(1, count(self->log, "BUG mmlab-page (mmlab): Poison overwritten"))
		TH_LOG("log:\n%s", self->log);
	EXPECT_EQ(1, count(self->log, "First byte 0x40 instead of 0xaa")) TH_LOG("%s", self->log);
	EXPECT_EQ(1, count(self->log, "FIX mmlab-page: Restoring Poison 0x")) TH_LOG("%s", self->log);
	EXPECT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
}

TEST_HARNESS_MAIN
