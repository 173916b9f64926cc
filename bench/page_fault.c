// SPDX-License-Identifier: GPL-2.0
/*
 * page_fault - will-it-scale's page_fault1 pattern (threads mode) on an
 * anonymous mapping and on /dev/mmlab, interleaved in one process, so both
 * are measured in the same VM boot. Reports numbers, never fails on speed.
 *
 * Each of T threads of one process, per cycle:
 *   anon:  mmap(SIZE, MAP_PRIVATE | MAP_ANONYMOUS), MADV_NOHUGEPAGE
 *          (Debian's kernels default THP to "always", which would make
 *          most "faults" 2 MiB ones), write one byte per page, munmap;
 *   mmlab: open /dev/mmlab (a new region), mmap(SIZE, MAP_SHARED) (the
 *          first mmap sets the region's size), write one byte per page,
 *          munmap, close (the region goes, its pages back to mmlab).
 * The threads start each phase together (barriers): the fault phase (open,
 * mmap, touch) and the teardown phase (munmap, close). A run is one cycle
 * of every thread; anon and mmlab alternate run by run (A B A B ...) after
 * one untimed warm-up cycle each. Per phase and in all:
 *   ns per fault = wall time of the phase / faults of all threads,
 * the inverse of the throughput (kfaults/s = 1e6 / ns per fault).
 * Every timed cycle must have taken one minor fault per page (getrusage),
 * and the warm-up checks the mmlab region's own counters (MMLAB_IOC_STATS);
 * anything else is an error (exit 1), as is any failing system call.
 *
 * usage: page_fault [-k anon|mmlab|both] [-t THREADS[,THREADS...]] [-s SIZE_MB]
 *                   [-r RUNS] [-v]
 *   defaults: -k both -t 1,4 -s 128 -r 7; -v prints every run to stderr;
 *   -k anon runs anywhere (a smoke test without mmlab), with min and
 *   median columns only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../include/mmlab/mmdev.h"

#define MAX_THREADS	64
#define MAX_RUNS	1000

enum kind { ANON, MMLAB, NR_KINDS };
enum phase { FAULT, TEARDOWN, CYCLE, NR_PHASES };

static const char *const phase_name[NR_PHASES] = { "fault", "unmap", "cycle" };

static size_t size_bytes = 128ul << 20;
static size_t page_size;
static int verbose;
static int kinds = (1 << ANON) | (1 << MMLAB);	/* -k */

static pthread_barrier_t barrier;
static enum kind cur_kind;
static int check_stats;		/* warm-up: compare the region's counters */
static volatile int stop;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("page_fault: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		die("getrusage: %s", strerror(errno));
	return ru.ru_minflt;
}

static void wait_all(void)
{
	int rc = pthread_barrier_wait(&barrier);

	if (rc && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(rc));
}

/*
 * One thread's cycle, in step with the others at each barrier. Thread 0
 * (the main thread) passes t and reads the clock as each phase starts and
 * when the last thread is done.
 */
static void cycle(uint64_t t[3])
{
	struct mmlab_mmdev_stats st;
	volatile char *p;
	size_t off;
	int fd = -1;

	wait_all();				/* fault phase starts */
	if (t)
		t[0] = now_ns();
	if (cur_kind == MMLAB) {
		fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			die("open /dev/mmlab: %s", strerror(errno));
		p = mmap(NULL, size_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		p = mmap(NULL, size_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (p == MAP_FAILED)
		die("mmap %zu bytes (%s): %s", size_bytes,
		    cur_kind == MMLAB ? "mmlab" : "anon", strerror(errno));
	if (cur_kind == ANON && madvise((void *)p, size_bytes, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	for (off = 0; off < size_bytes; off += page_size)
		p[off] = 1;
	if (fd >= 0 && check_stats) {
		if (ioctl(fd, MMLAB_IOC_STATS, &st))
			die("MMLAB_IOC_STATS: %s", strerror(errno));
		if (st.resident_pages != size_bytes / page_size ||
		    st.alloc_faults != size_bytes / page_size || st.fault_failures)
			die("region %llu after touching %zu pages: resident %llu, alloc_faults %llu, fault_failures %llu",
			    (unsigned long long)st.id, size_bytes / page_size,
			    (unsigned long long)st.resident_pages,
			    (unsigned long long)st.alloc_faults,
			    (unsigned long long)st.fault_failures);
	}
	wait_all();				/* teardown phase starts */
	if (t)
		t[1] = now_ns();
	if (munmap((void *)p, size_bytes))
		die("munmap: %s", strerror(errno));
	if (fd >= 0 && close(fd))
		die("close: %s", strerror(errno));
	wait_all();				/* every thread is done */
	if (t)
		t[2] = now_ns();
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		wait_all();			/* next cycle, or stop */
		if (stop)
			return NULL;
		cycle(NULL);
	}
}

/* One run: every thread does one cycle; per-phase wall times into ns. */
static void run_once(int threads, uint64_t ns[NR_PHASES])
{
	uint64_t t[3], pages = (uint64_t)threads * (size_bytes / page_size);
	long f0 = minflt(), faults;

	wait_all();				/* wake the workers */
	cycle(t);
	faults = minflt() - f0;
	/* A few faults more are the program's own (stack, libc). */
	if (faults < (long)pages || faults > (long)pages + 64 * threads + 64)
		die("%s, %d threads: %ld minor faults for %llu pages (THP? fault-around?)",
		    cur_kind == MMLAB ? "mmlab" : "anon", threads, faults,
		    (unsigned long long)pages);
	ns[FAULT] = t[1] - t[0];
	ns[TEARDOWN] = t[2] - t[1];
	ns[CYCLE] = t[2] - t[0];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double min_of(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static double median_of(const double *v, int n)
{
	double s[MAX_RUNS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void bench(int threads, int runs)
{
	static double per_fault[NR_KINDS][NR_PHASES][MAX_RUNS];
	pthread_t tid[MAX_THREADS];
	uint64_t pages = (uint64_t)threads * (size_bytes / page_size);
	uint64_t ns[NR_PHASES];
	int i, k, ph, rc;
	char name[40];

	rc = pthread_barrier_init(&barrier, NULL, threads);
	if (rc)
		die("pthread_barrier_init: %s", strerror(rc));
	stop = 0;
	for (i = 1; i < threads; i++) {
		rc = pthread_create(&tid[i], NULL, worker, NULL);
		if (rc)
			die("pthread_create: %s", strerror(rc));
	}

	/* Warm-up, untimed: one cycle each, with the region counters checked. */
	for (k = 0; k < NR_KINDS; k++) {
		if (!(kinds & (1 << k)))
			continue;
		cur_kind = k;
		check_stats = 1;
		run_once(threads, ns);
		check_stats = 0;
	}
	for (i = 0; i < runs; i++) {
		for (k = 0; k < NR_KINDS; k++) {
			if (!(kinds & (1 << k)))
				continue;
			cur_kind = k;
			run_once(threads, ns);
			for (ph = 0; ph < NR_PHASES; ph++)
				per_fault[k][ph][i] = (double)ns[ph] / (double)pages;
			if (verbose)
				fprintf(stderr,
					"page_fault: %d threads run %d %-5s: %.0f faults/s, %.2f ns/fault (fault %.2f, unmap %.2f)\n",
					threads, i + 1, k == MMLAB ? "mmlab" : "anon",
					1e9 / per_fault[k][CYCLE][i], per_fault[k][CYCLE][i],
					per_fault[k][FAULT][i], per_fault[k][TEARDOWN][i]);
		}
	}

	stop = 1;
	wait_all();
	for (i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);

	for (ph = 0; ph < NR_PHASES; ph++) {
		snprintf(name, sizeof(name), "%d thread%s %s", threads,
			 threads == 1 ? "" : "s", phase_name[ph]);
		if (kinds != ((1 << ANON) | (1 << MMLAB))) {	/* -k: one side only */
			k = kinds & (1 << MMLAB) ? MMLAB : ANON;
			printf("%-22s %12.2f %12.2f\n", name, min_of(per_fault[k][ph], runs),
			       median_of(per_fault[k][ph], runs));
			continue;
		}
		double m_min = min_of(per_fault[MMLAB][ph], runs);
		double m_med = median_of(per_fault[MMLAB][ph], runs);
		double a_min = min_of(per_fault[ANON][ph], runs);
		double a_med = median_of(per_fault[ANON][ph], runs);

		printf("%-22s %12.2f %12.2f %12.2f %12.2f %8.2f %11.0f %11.0f\n",
		       name, m_min, m_med, a_min, a_med, m_med / a_med,
		       1e6 / m_med, 1e6 / a_med);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int threads[16] = { 1, 4 }, nr_threads = 2, runs = 7, opt, i;
	struct utsname u;
	char *s, *end;
	long n;

	while ((opt = getopt(argc, argv, "k:t:s:r:v")) != -1) {
		switch (opt) {
		case 'k':
			if (!strcmp(optarg, "anon"))
				kinds = 1 << ANON;
			else if (!strcmp(optarg, "mmlab"))
				kinds = 1 << MMLAB;
			else if (!strcmp(optarg, "both"))
				kinds = (1 << ANON) | (1 << MMLAB);
			else
				die("-k: anon, mmlab or both");
			break;
		case 't':
			nr_threads = 0;
			for (s = optarg; *s && nr_threads < 16; s = end + (*end == ',')) {
				n = strtol(s, &end, 10);
				if (end == s || n < 1 || n > MAX_THREADS || (*end && *end != ','))
					die("-t: thread counts 1..%d, comma-separated", MAX_THREADS);
				threads[nr_threads++] = (int)n;
			}
			break;
		case 's':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 65536)
				die("-s: size in MiB, 1..65536");
			size_bytes = (size_t)n << 20;
			break;
		case 'r':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > MAX_RUNS)
				die("-r: runs, 1..%d", MAX_RUNS);
			runs = (int)n;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: page_fault [-k anon|mmlab|both] [-t THREADS[,THREADS...]] [-s SIZE_MB] [-r RUNS] [-v]\n");
			return 2;
		}
	}
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (uname(&u))
		die("uname: %s", strerror(errno));

	printf("# page_fault1 (will-it-scale, threads mode): each thread mmaps its own %zu MiB, writes one byte\n"
	       "# per page, munmaps; anon = MAP_PRIVATE|MAP_ANONYMOUS + MADV_NOHUGEPAGE, mmlab = MAP_SHARED of its\n"
	       "# own /dev/mmlab fd, closed after munmap; %d runs, anon and mmlab interleaved, 1 warm-up cycle each\n"
	       "# ns per fault = wall time / faults of all threads (fault: open+mmap+touch, unmap: munmap+close,\n"
	       "# cycle: both); kf/s = thousands of faults per second, all threads, from the row's median\n"
	       "# kernel %s, online CPUs: %ld\n",
	       size_bytes >> 20, runs, u.release, sysconf(_SC_NPROCESSORS_ONLN));
	if (kinds == ((1 << ANON) | (1 << MMLAB)))
		printf("%-22s %12s %12s %12s %12s %8s %11s %11s\n", "case", "mmlab_min",
		       "mmlab_med", "anon_min", "anon_med", "ratio", "mmlab_kf/s", "anon_kf/s");
	else if (kinds & (1 << MMLAB))
		printf("%-22s %12s %12s\n", "case", "mmlab_min", "mmlab_med");
	else
		printf("%-22s %12s %12s\n", "case", "anon_min", "anon_med");
	for (i = 0; i < nr_threads; i++)
		bench(threads[i], runs);
	return 0;
}
