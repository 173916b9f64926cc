// SPDX-License-Identifier: GPL-2.0
/*
 * map_touch - demand paging on /dev/mmlab, and the fault log that shows it.
 *
 * mmap() allocates nothing: a page is taken from mmlab only when it is first
 * touched. We map N MiB, touch every other page, and watch resident_pages go
 * from 0 to exactly half the pages; then we read the region's fault log in
 * debugfs and check that its last record is our last touch.
 *
 *   usage: map_touch [MiB]        (default 16; run as root)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <mmlab/mmdev.h>	/* cc -I<mmlab>/include */

#define FAULTS_DIR	"/sys/kernel/debug/mmlab/faults"
#define SHOW_RECORDS	4	/* how many of the last fault records to print */

/* Say what went wrong; "return fail(...)" makes the exit status say so too. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "map_touch: FAIL: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static struct mmlab_mmdev_stats stats_of(int fd)
{
	struct mmlab_mmdev_stats st;

	if (ioctl(fd, MMLAB_IOC_STATS, &st))
		exit(fail("MMLAB_IOC_STATS: %s", strerror(errno)));
	return st;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 16;
	size_t page = sysconf(_SC_PAGESIZE), len = mib << 20, off, last = 0;
	char path[64], line[160], tail[SHOW_RECORDS][160], *p;
	unsigned long long seq, pgoff, addr;
	struct mmlab_mmdev_stats st;
	int fd, pid, n = 0, i;
	FILE *log;

	if (mib == 0) {
		fprintf(stderr, "usage: map_touch [MiB]\n");
		return 2;
	}
	/* Each open() is a new, empty region: a shmem file of mmlab's pages. */
	fd = open("/dev/mmlab", O_RDWR);
	if (fd < 0)
		return fail("open /dev/mmlab: %s (is mmlab loaded? are you root?)", strerror(errno));
	/* The first mmap of a region that has no size yet sets its size. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap: %s", strerror(errno));
	st = stats_of(fd);
	printf("mapped %zu MiB: region %llu, %llu pages, %llu resident\n",
	       mib, st.id, st.size_pages, st.resident_pages);
	if (st.resident_pages != 0)
		return fail("mmap should allocate nothing");

	/* Each first touch is a page fault; mmlab's .fault maps a zeroed page. */
	for (off = 0; off < len; off += 2 * page) {
		if (p[off] != 0)
			return fail("page %zu not zeroed", off / page);
		p[off] = 1;
		last = off;
	}
	st = stats_of(fd);
	printf("touched every other page: %llu resident (want %zu), %llu faults, %llu allocated\n",
	       st.resident_pages, len / page / 2, st.faults, st.alloc_faults);
	if (st.resident_pages != len / page / 2)
		return fail("resident_pages is not half the pages");

	/* The region's fault log: the last 256 faults, oldest first. */
	snprintf(path, sizeof(path), FAULTS_DIR "/%llu", st.id);
	printf("fault log: %s (last %d records)\n", path, SHOW_RECORDS);
	log = fopen(path, "r");
	if (!log)
		return fail("open the fault log: %s (is debugfs mounted?)", strerror(errno));
	while (fgets(line, sizeof(line), log)) {
		if (line[0] == '#') {		/* the header: print it as it is */
			fputs(line, stdout);
			continue;
		}
		strcpy(tail[n++ % SHOW_RECORDS], line);
	}
	fclose(log);
	for (i = n > SHOW_RECORDS ? n - SHOW_RECORDS : 0; i < n; i++)
		fputs(tail[i % SHOW_RECORDS], stdout);

	/* The newest record is our last touch: our pid, our address, its offset. */
	if (n == 0 || sscanf(tail[(n - 1) % SHOW_RECORDS], "%llu %d %llx %llu",
			     &seq, &pid, &addr, &pgoff) != 4)
		return fail("no record in %s", path);
	if (pid != getpid() || addr != (unsigned long)(p + last) ||
	    pgoff != last / page)
		return fail("last record is not our touch of page %zu", last / page);
	printf("the last record is our touch of page %llu at %p\n", pgoff, (void *)(p + last));

	/* Unmapping and closing the last file frees the region and its pages. */
	munmap(p, len);
	close(fd);
	printf("ok\n");
	return 0;
}
