// SPDX-License-Identifier: GPL-2.0
/*
 * mmdev_threads - concurrent faults on /dev/mmlab: four threads faulting
 * the same pages get one page per offset (one allocation each, the racing
 * losers' pages given back, every thread's writes on the same page); four
 * threads on different pages; faults racing PUNCH; and a process killed
 * in the middle of a fault storm leaks nothing (pages, commitments,
 * regions, module references).
 */
#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#define NTHREADS	4

struct worker {
	pthread_t tid;
	unsigned int idx;
	unsigned char *base;
	size_t first, npages;
	pthread_barrier_t *go;
	volatile int *stop;
	int fd;
	unsigned long rounds;
};

/* Every thread writes its own byte of every page, in the same order. */
static void *same_pages(void *arg)
{
	struct worker *w = arg;
	size_t i;

	pthread_barrier_wait(w->go);
	for (i = 0; i < w->npages; i++)
		w->base[i * PAGE + w->idx] = (unsigned char)(w->idx + 1);
	return NULL;
}

TEST_F_TIMEOUT(mmdev, four_threads_same_pages, 120)
{
	const size_t n = 2048;
	struct worker w[NTHREADS];
	struct mmlab_mmdev_stats s;
	pthread_barrier_t go;
	unsigned char *p;
	size_t i, bad = n;
	unsigned int t;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NTHREADS));
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .base = p, .npages = n, .go = &go };
		ASSERT_EQ(0, pthread_create(&w[t].tid, NULL, same_pages, &w[t]));
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(w[t].tid, NULL);
	for (i = 0; i < n && bad == n; i++)
		for (t = 0; t < NTHREADS; t++)
			if (p[i * PAGE + t] != t + 1)
				bad = i;
	EXPECT_EQ(n, bad) TH_LOG("page %zu lost a thread's write: two pages for one offset?", bad);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(n, s.alloc_faults) TH_LOG("one allocating fault per page");
	EXPECT_LE(n, s.faults);
	EXPECT_EQ(0, s.fault_failures);
	EXPECT_EQ(self->used0 + n, mmdev_used()) TH_LOG("the race losers' pages not given back");
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	pthread_barrier_destroy(&go);
}

/* Each thread fills its own quarter, with its own pattern. */
static void *own_pages(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->go);
	mmdev_fill(w->base + w->first * PAGE, w->npages, 40 + w->idx);
	return NULL;
}

TEST_F_TIMEOUT(mmdev, four_threads_different_pages, 120)
{
	const size_t per = 1024, n = per * NTHREADS;
	struct worker w[NTHREADS];
	struct mmlab_mmdev_stats s;
	pthread_barrier_t go;
	unsigned char *p;
	unsigned int t;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NTHREADS));
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .base = p, .first = t * per, .npages = per,
					.go = &go };
		ASSERT_EQ(0, pthread_create(&w[t].tid, NULL, own_pages, &w[t]));
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(w[t].tid, NULL);
	for (t = 0; t < NTHREADS; t++)
		EXPECT_EQ(per, mmdev_check(p + t * per * PAGE, per, 40 + t)) TH_LOG("thread %u", t);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(n, s.alloc_faults);
	EXPECT_EQ(0, s.fault_failures);
	EXPECT_EQ(self->used0 + n, mmdev_used());
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	pthread_barrier_destroy(&go);
}

/* Touch every page of the range, over and over, until told to stop. */
static void *toucher(void *arg)
{
	struct worker *w = arg;
	size_t i;

	pthread_barrier_wait(w->go);
	while (!*w->stop) {
		for (i = 0; i < w->npages; i++)
			w->base[(w->first + i) * PAGE + w->idx] = (unsigned char)w->rounds;
		w->rounds++;
	}
	return NULL;
}

/*
 * Faults racing PUNCH of the same pages: no crash, no page lost or
 * doubled (afterwards each offset has one page that every mapping sees),
 * and every page back at close.
 */
TEST_F_TIMEOUT(mmdev, faults_race_punch, 120)
{
	const size_t n = 256;
	struct worker w[NTHREADS];
	struct mmlab_mmdev_stats s;
	volatile int stop = 0;
	pthread_barrier_t go;
	unsigned char *p, *q;
	unsigned int t, punches = 0;
	struct timespec t0, t1;
	size_t i;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, n * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NTHREADS + 1));
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .base = p, .npages = n, .go = &go,
					.stop = &stop };
		ASSERT_EQ(0, pthread_create(&w[t].tid, NULL, toucher, &w[t]));
	}
	pthread_barrier_wait(&go);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		EXPECT_EQ(0, mmdev_punch(fd, (punches % 4) * (n / 4) * PAGE, n / 4 * PAGE));
		punches++;
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 3);
	stop = 1;
	for (t = 0; t < NTHREADS; t++)
		pthread_join(w[t].tid, NULL);
	TH_LOG("%u punches, %lu rounds of thread 0", punches, w[0].rounds);

	/* now quiet: one page per offset, seen the same through both mappings */
	for (i = 0; i < n; i++) {
		p[i * PAGE + 100] = (unsigned char)i;
		if (q[i * PAGE + 100] != (unsigned char)i)
			break;
	}
	EXPECT_EQ(n, i) TH_LOG("the mappings disagree on page %zu", i);
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_EQ(n, s.resident_pages);
	EXPECT_EQ(0, s.busy_pages);
	EXPECT_EQ(0, s.fault_failures);
	EXPECT_EQ(self->used0 + n, mmdev_used()) TH_LOG("pages lost in the race");
	munmap(p, n * PAGE);
	munmap(q, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	pthread_barrier_destroy(&go);
}

/* Touch every page (catching SIGBUS past a shrunk size) until told to stop. */
static void *toucher_sigbus(void *arg)
{
	struct worker *w = arg;
	size_t i;
	int sig;

	pthread_barrier_wait(w->go);
	while (!*w->stop) {
		for (i = 0; i < w->npages; i++)
			mmdev_touch(w->base + i * PAGE + w->idx, 1, 1, 1, 1, &sig);
		w->rounds++;
	}
	return NULL;
}

/*
 * Faults racing SET_SIZE shrinking and growing the region: past the size a
 * fault is SIGBUS, never a page; afterwards the region holds at most its
 * size, and every page comes back at close.
 */
TEST_F_TIMEOUT(mmdev, faults_race_shrink, 120)
{
	const size_t n = 256;
	struct worker w[NTHREADS];
	struct mmlab_mmdev_stats s;
	volatile int stop = 0;
	pthread_barrier_t go;
	unsigned int t, changes = 0;
	struct timespec t0, t1;
	unsigned char *p;
	int fd;

	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_set_size(fd, n * PAGE));
	p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NTHREADS + 1));
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .base = p, .npages = n, .go = &go,
					.stop = &stop };
		ASSERT_EQ(0, pthread_create(&w[t].tid, NULL, toucher_sigbus, &w[t]));
	}
	pthread_barrier_wait(&go);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		EXPECT_EQ(0, mmdev_set_size(fd, (changes % 2 ? n : n / 2 - changes % 7) * PAGE));
		changes++;
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 3);
	stop = 1;
	for (t = 0; t < NTHREADS; t++)
		pthread_join(w[t].tid, NULL);
	TH_LOG("%u size changes, %lu rounds of thread 0", changes, w[0].rounds);

	ASSERT_EQ(0, mmdev_set_size(fd, n / 4 * PAGE));
	ASSERT_EQ(0, mmdev_stats(fd, &s));
	EXPECT_GE(n / 4, s.resident_pages);
	EXPECT_EQ(0, s.busy_pages);
	EXPECT_EQ(n / 4, s.committed_pages);
	EXPECT_EQ(self->used0 + s.resident_pages, mmdev_used()) TH_LOG("pages lost in the race");
	EXPECT_EQ(SIGBUS, mmdev_try_read(p + n / 4 * PAGE));
	munmap(p, n * PAGE);
	close(fd);
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
	pthread_barrier_destroy(&go);
}

/*
 * ATTACH racing the last close of the named region: each attach either
 * finds the region (and keeps it alive) or gets ENOENT; no region, page or
 * module reference is left over.
 */
TEST_F_TIMEOUT(mmdev, attach_races_close, 120)
{
	uint64_t regions0 = mmdev_stat("regions");
	long base = self->refcnt;
	unsigned int i, found = 0, missing = 0;
	char name[32];
	int st;
	pid_t pid;

	time_t deadline = time(NULL) + 60;

	snprintf(name, sizeof(name), "race.%d", getpid());
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/*
		 * name a region, touch a page, close: over and over (bounded
		 * by time too: the KASAN debug kernel under TCG is ~10x slower)
		 */
		time_t end = time(NULL) + 40;

		for (i = 0; i < 3000 && time(NULL) < end; i++) {
			int fd = mmdev_open();
			unsigned char *p;

			if (fd < 0)
				_exit(1);
			if (mmdev_name(fd, name)) {
				/* an attacher still holds the last one, name and all */
				if (errno != EEXIST)
					_exit(3);
				close(fd);
				continue;
			}
			p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(2);
			p[0] = 1;
			munmap(p, PAGE);
			close(fd);
		}
		_exit(0);
	}
	for (i = 0; i < 20000 && time(NULL) < deadline; i++) {
		struct mmlab_mmdev_stats s;
		unsigned char *p;
		int fd = mmdev_open();

		ASSERT_LE(0, fd);
		if (mmdev_attach(fd, name) == 0) {
			found++;
			ASSERT_EQ(0, mmdev_stats(fd, &s));
			EXPECT_GE(2, s.files);
			EXPECT_GE(1, s.size_pages);	/* 0 between its NAME and its mmap */
			p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
			ASSERT_NE(MAP_FAILED, p);
			EXPECT_GE(1, p[0]);	/* 0 if we came before the opener's touch */
			munmap(p, PAGE);
		} else {
			EXPECT_EQ(ENOENT, errno);
			missing++;
		}
		close(fd);
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = 0;
			break;
		}
	}
	if (pid)
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("opener status 0x%x", st);
	TH_LOG("%u attaches found the region, %u did not", found, missing);
	EXPECT_LT(0, found) TH_LOG("never won the race: the test proves nothing");
	EXPECT_EQ(regions0, mmdev_wait_stat("regions", regions0, 1000));
	EXPECT_EQ(self->used0, mmdev_used());
	EXPECT_EQ(self->committed0, mmdev_stat("committed_pages"));
	EXPECT_EQ(base, mmdev_module_refcnt());
}

/*
 * The storm: NTHREADS threads fault a 64 MiB region, punch their part and
 * fault it again, forever. The process is SIGKILLed at some point of it;
 * once reaped, everything it had is back.
 */
static void *storm(void *arg)
{
	struct worker *w = arg;
	size_t i;

	for (;;) {
		for (i = 0; i < w->npages; i++)
			w->base[(w->first + i) * PAGE] = (unsigned char)i;
		mmdev_punch(w->fd, w->first * PAGE, w->npages * PAGE);
		w->rounds++;
	}
	return NULL;
}

static void storm_child(int ready)
{
	const size_t per = 4096;
	static struct worker w[NTHREADS];
	unsigned char *p;
	unsigned int t;
	int fd;

	fd = mmdev_open();
	if (fd < 0)
		_exit(1);
	p = mmap(NULL, per * NTHREADS * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .base = p, .first = t * per, .npages = per,
					.fd = fd };
		if (pthread_create(&w[t].tid, NULL, storm, &w[t]))
			_exit(3);
	}
	/* tell the parent once the storm is on */
	while (!__atomic_load_n(&w[0].rounds, __ATOMIC_RELAXED))
		usleep(1000);
	if (write(ready, "r", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

TEST_F_TIMEOUT(mmdev, killed_mid_fault_storm_leaks_nothing, 240)
{
	static const unsigned int delays_ms[] = { 0, 30, 150, 400 };
	uint64_t regions0 = mmdev_stat("regions");
	long base = self->refcnt;
	unsigned int i;
	int st, pfd[2];
	pid_t pid;
	char c;

	for (i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
		ASSERT_EQ(0, pipe(pfd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(pfd[0]);
			storm_child(pfd[1]);
		}
		close(pfd[1]);
		ASSERT_EQ(1, read(pfd[0], &c, 1)) TH_LOG("the storm did not start");
		close(pfd[0]);
		usleep(delays_ms[i] * 1000);
		EXPECT_LT(self->used0, mmdev_used()) TH_LOG("no pages in use mid-storm?");
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			TH_LOG("storm child status 0x%x", st);
		mmlab_settle();
		EXPECT_EQ(self->used0, mmdev_wait_stat("used_pages", self->used0, 3000))
			TH_LOG("round %u (%u ms): pages leaked", i, delays_ms[i]);
		EXPECT_EQ(self->committed0, mmdev_wait_stat("committed_pages", self->committed0, 1000));
		EXPECT_EQ(regions0, mmdev_wait_stat("regions", regions0, 1000));
		EXPECT_EQ(base, mmdev_module_refcnt()) TH_LOG("module reference leaked");
	}
	ASSERT_EQ(0, CTL("check")) TH_LOG("%s", self->res);
	EXPECT_STREQ("ok", self->res);
}

TEST_HARNESS_MAIN
