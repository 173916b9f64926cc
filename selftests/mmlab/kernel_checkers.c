// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_checkers - the kernel's own KASAN and kmemleak catch bugs made on
 * mmlab's objects (docs/kernel-checkers.md). Each test loads
 * /lib/mmlab/mmlab_bugs.ko (selftests/mmlab_bugs, shipped with vm-test.sh's
 * --extra-module) with one bug=, checks that the expected report reaches
 * the kernel log with mmlab_bugs in its stack, and unloads it:
 *
 *   uaf, cache_uaf  BUG: KASAN: use-after-free (6.1) / slab-use-after-free
 *                   (6.12) in mmlab_bugs_uaf / mmlab_bugs_cache_uaf
 *   redzone         BUG: KASAN: slab-out-of-bounds in mmlab_bugs_redzone
 *   leak            kmemleak, after "scan": an unreferenced object of size
 *                   1024 (the kmalloc-1k slot of mmlab_kmalloc(1000), as
 *                   Linux registers it) whose backtrace names mmlab_bugs
 *   vleak           the same for an mmlab_vmalloc() area (size 12388)
 *   double_free     mmlab's own double-free report; mmlab keeps working
 *
 * These tests make KASAN and kmemleak reports on purpose, and a KASAN
 * report taints the kernel (lockdep turns itself off). So they run only in
 * a boot meant for them: one whose command line has mmlab.expect_reports=1
 * (make check-debug's second boot, which also passes kasan_multi_shot).
 * Anywhere else every test SKIPs and says why. MMLAB_BUGS overrides the
 * module's path.
 */
#include "kselftest_harness.h"
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mmlab_helpers.h"

#define LOG_MAX		(256 * 1024)
/* The debug kernel under TCG is slow, and kmemleak needs several scans. */
#define CHECKERS_TIMEOUT	600
#define BUGS_DEFAULT	"/lib/mmlab/mmlab_bugs.ko"
#define KMEMLEAK	"/sys/kernel/debug/kmemleak"

static int file_has(const char *path, const char *needle)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f))
		found = strstr(buf, needle) != NULL;
	fclose(f);
	return found;
}

/* Why these tests cannot run here, or NULL. */
static const char *cannot_run(int kasan, int kmemleak)
{
	if (!file_has("/proc/cmdline", "mmlab.expect_reports=1"))
		return "not a boot for deliberate reports (no mmlab.expect_reports=1 in "
		       "/proc/cmdline): these tests make KASAN/kmemleak reports on purpose";
	if (kasan && !file_has("/proc/kallsyms", " kasan_"))
		return "the kernel has no KASAN (no kasan_ symbols in /proc/kallsyms)";
	if (kasan && !file_has("/proc/cmdline", "kasan_multi_shot"))
		return "no kasan_multi_shot on the command line: KASAN would report only its first bug";
	if (kmemleak && access(KMEMLEAK, R_OK | W_OK))
		return "the kernel has no kmemleak (no " KMEMLEAK ")";
	return NULL;
}

static const char *bugs_path(void)
{
	const char *p = getenv("MMLAB_BUGS");

	return p && *p ? p : BUGS_DEFAULT;
}

/* insmod mmlab_bugs.ko bug=<bug>: 0 or -errno. */
static int load_bug(const char *bug)
{
	char params[64];
	int fd, ret;

	snprintf(params, sizeof(params), "bug=%s", bug);
	fd = open(bugs_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_bugs(void)
{
	return syscall(__NR_delete_module, "mmlab_bugs", O_NONBLOCK) ? -errno : 0;
}

/* A whole (non-debugfs-mmlab) file into buf. Length or -errno. */
static ssize_t read_all(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return len;
}

static int kmemleak_cmd(const char *cmd)
{
	int fd = open(KMEMLEAK, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, cmd, strlen(cmd));
	close(fd);
	return n == (ssize_t)strlen(cmd) ? 0 : -errno;
}

/*
 * The first line of log matching re, and whether one of the next
 * `within` lines (the report's stack) contains "[mmlab_bugs]".
 */
static int find_report(const char *log, const char *re, int within, char *line, size_t cap,
		       int *in_stack)
{
	char cur[1024];
	const char *p = log;
	int found = 0, after = 0;

	*in_stack = 0;
	while (mmlab_next_line(&p, cur, sizeof(cur)) > 0) {
		if (!found && mmlab_match(re, cur)) {
			found = 1;
			snprintf(line, cap, "%s", cur);
			continue;
		}
		if (found && after++ < within && strstr(cur, "[mmlab_bugs]")) {
			*in_stack = 1;
			break;
		}
	}
	return found;
}

/* Loads bug=<bug> and returns what the kernel logged meanwhile. */
static char *run_bug(struct __test_metadata *_metadata, const char *bug)
{
	char *log = calloc(1, LOG_MAX);
	int fd, ret;

	ASSERT_NE(NULL, log);
	fd = mmlab_kmsg_open();
	ASSERT_LE(0, fd) TH_LOG("/dev/kmsg: %s", strerror(-fd));
	unload_bugs();	/* a left-over from an interrupted run */
	ret = load_bug(bug);
	ASSERT_EQ(0, ret) TH_LOG("insmod %s bug=%s: %s", bugs_path(), bug, strerror(-ret));
	usleep(200 * 1000);
	mmlab_kmsg_read(fd, log, LOG_MAX);
	close(fd);
	EXPECT_EQ(0, unload_bugs()) TH_LOG("rmmod mmlab_bugs");
	return log;
}

FIXTURE(checkers) {};
FIXTURE_SETUP(checkers) {}
FIXTURE_TEARDOWN(checkers) {}

static void expect_kasan(struct __test_metadata *_metadata, const char *bug, const char *re,
			 const char *access_re)
{
	const char *why = cannot_run(1, 0);
	char line[1024] = "", access[1024] = "";
	int in_stack = 0, dummy;
	char *log;

	if (why)
		SKIP(return, "%s", why);
	log = run_bug(_metadata, bug);
	EXPECT_TRUE(find_report(log, re, 60, line, sizeof(line), &in_stack))
		TH_LOG("no line matching '%s' in the log:\n%s", re, log);
	EXPECT_TRUE(in_stack) TH_LOG("'%s' without mmlab_bugs in the stack:\n%s", line, log);
	EXPECT_TRUE(find_report(log, access_re, 0, access, sizeof(access), &dummy))
		TH_LOG("no line matching '%s' in the log:\n%s", access_re, log);
	if (line[0])
		TH_LOG("%s | %s", line, access);
	free(log);
}

TEST_F_TIMEOUT(checkers, kasan_use_after_free, CHECKERS_TIMEOUT)
{
	expect_kasan(_metadata, "uaf",
		     "^BUG: KASAN: (slab-)?use-after-free in mmlab_bugs_uaf(\\.[a-z0-9.]+)?\\+",
		     "^Read of size 1 at addr [0-9a-f]+ by task ");
}

TEST_F_TIMEOUT(checkers, kasan_use_after_free_of_a_cache_object, CHECKERS_TIMEOUT)
{
	expect_kasan(_metadata, "cache_uaf",
		     "^BUG: KASAN: (slab-)?use-after-free in mmlab_bugs_cache_uaf(\\.[a-z0-9.]+)?\\+",
		     "^Write of size 1 at addr [0-9a-f]+ by task ");
}

TEST_F_TIMEOUT(checkers, kasan_kmalloc_red_zone, CHECKERS_TIMEOUT)
{
	expect_kasan(_metadata, "redzone",
		     "^BUG: KASAN: slab-out-of-bounds in mmlab_bugs_redzone(\\.[a-z0-9.]+)?\\+",
		     "^Read of size 1 at addr [0-9a-f]+ by task ");
}

/*
 * A dead task's kernel stack waits in a per-CPU cache (VMAP_STACK) until a
 * fork takes it and clears it; until then kmemleak scans it, stale copies
 * of the pointer insmod's init had included. Fork a few children on every
 * CPU so those stacks are reused.
 */
static void recycle_stacks(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t all, one;
	long cpu;
	int i;

	if (sched_getaffinity(0, sizeof(all), &all))
		return;
	for (cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; cpu++) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		for (i = 0; i < 4; i++) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
	}
	sched_setaffinity(0, sizeof(all), &all);
}

/*
 * kmemleak reports an object only once it is older than 5 s and a scan
 * found nothing pointing at it; a stale copy of the pointer (a register, a
 * stack) can hide it from one scan, so scan up to 8 times.
 */
static void expect_kmemleak(struct __test_metadata *_metadata, const char *bug, const char *re)
{
	const char *why = cannot_run(0, 1);
	int scans, in_stack = 0, ret;
	char line[1024];
	char *log;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, kmemleak_cmd("clear"));
	log = calloc(1, LOG_MAX);
	ASSERT_NE(NULL, log);
	unload_bugs();
	ret = load_bug(bug);
	ASSERT_EQ(0, ret) TH_LOG("insmod %s bug=%s: %s", bugs_path(), bug, strerror(-ret));
	for (scans = 1; scans <= 8; scans++) {
		ssize_t n;

		sleep(6);
		recycle_stacks();
		ASSERT_EQ(0, kmemleak_cmd("scan"));
		n = read_all(KMEMLEAK, log, LOG_MAX);
		if (n > 0 && find_report(log, re, 30, line, sizeof(line), &in_stack))
			break;
	}
	/* mmlab_bugs keeps the pointer hidden from kmemleak and frees it here. */
	EXPECT_EQ(0, unload_bugs());
	EXPECT_LE(scans, 8) TH_LOG("nothing matching '%s' after 8 scans:\n%s", re, log);
	EXPECT_TRUE(in_stack) TH_LOG("the leak report does not name mmlab_bugs:\n%s", log);
	if (scans <= 8)
		TH_LOG("found after %d scan(s): %s", scans, line);
	kmemleak_cmd("clear");
	free(log);
}

/* kmemleak registers the kmalloc-1k slot of mmlab_kmalloc(1000), as Linux does. */
TEST_F_TIMEOUT(checkers, kmemleak_finds_a_leaked_mmlab_object, CHECKERS_TIMEOUT)
{
	expect_kmemleak(_metadata, "leak", "^unreferenced object 0x[0-9a-f]+ \\(size 1024\\):$");
}

/* mmlab_vmalloc(3 pages + 100): the area's size, found despite the host's vm_struct. */
TEST_F_TIMEOUT(checkers, kmemleak_finds_a_leaked_mmlab_vmalloc_area, CHECKERS_TIMEOUT)
{
	expect_kmemleak(_metadata, "vleak", "^unreferenced object 0x[0-9a-f]+ \\(size 12388\\):$");
}

TEST_F_TIMEOUT(checkers, double_free_is_reported_and_refused, CHECKERS_TIMEOUT)
{
	const char *why = cannot_run(0, 0);
	char line[1024] = "";
	int dummy;
	char *log;

	if (why)
		SKIP(return, "%s", why);
	log = run_bug(_metadata, "double_free");
	EXPECT_TRUE(find_report(log, "(double free|already free)", 0, line, sizeof(line), &dummy))
		TH_LOG("no double-free report in the log:\n%s", log);
	EXPECT_FALSE(find_report(log, "BUG: KASAN", 0, line, sizeof(line), &dummy))
		TH_LOG("a refused double free is mmlab's to report, not a KASAN bug:\n%s", log);
	free(log);
}

TEST_HARNESS_MAIN
