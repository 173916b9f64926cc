// SPDX-License-Identifier: GPL-2.0
/*
 * punch - give a range of a region's pages back to mmlab while it is mapped.
 *
 * MMLAB_IOC_PUNCH is fallocate(FALLOC_FL_PUNCH_HOLE) for /dev/mmlab (a
 * character device, which fallocate and MADV_REMOVE cannot reach). It zaps
 * the range from every mapping and frees its pages: resident_pages drops
 * and so does mmlab's used_pages in debugfs stats. The mapping stays valid;
 * touching the range again faults in fresh, zeroed pages.
 *
 *   usage: punch                  (run as root, with debugfs mounted)
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

#define NPAGES		64	/* the region */
#define HOLE_FROM	16	/* the punched range, in pages */
#define HOLE_PAGES	32

/* Say what went wrong; "return fail(...)" makes the exit status say so too. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "punch: FAIL: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* mmlab's pages in use, all users together, from its debugfs stats file. */
static long long used_pages(void)
{
	FILE *f = fopen("/sys/kernel/debug/mmlab/stats", "r");
	long long v = -1;
	char key[64];

	if (!f)
		exit(fail("open /sys/kernel/debug/mmlab/stats: %s (is debugfs mounted?)", strerror(errno)));
	while (fscanf(f, "%63s", key) == 1)
		if (strcmp(key, "used_pages") == 0 && fscanf(f, "%lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void show(int fd, const char *when, struct mmlab_mmdev_stats *st, long long *used)
{
	if (ioctl(fd, MMLAB_IOC_STATS, st))
		exit(fail("MMLAB_IOC_STATS: %s", strerror(errno)));
	*used = used_pages();
	printf("%-22s resident %3llu, alloc_faults %3llu, mmlab used_pages %lld\n",
	       when, st->resident_pages, st->alloc_faults, *used);
}

int main(void)
{
	size_t page = sysconf(_SC_PAGESIZE), i;
	struct mmlab_mmdev_range hole = { HOLE_FROM * page, HOLE_PAGES * page };
	struct mmlab_mmdev_stats st;
	long long used0, used1, used2;
	char *p;
	int fd;

	fd = open("/dev/mmlab", O_RDWR);
	if (fd < 0)
		return fail("open /dev/mmlab: %s (is mmlab loaded? are you root?)", strerror(errno));
	p = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap: %s", strerror(errno));
	show(fd, "mapped:", &st, &used0);

	for (i = 0; i < NPAGES; i++)		/* every page gets its number */
		p[i * page] = (char)(i + 1);
	show(fd, "touched all:", &st, &used1);
	if (st.resident_pages != NPAGES || used1 - used0 != NPAGES)
		return fail("want %d more pages in use", NPAGES);

	printf("punching pages %d..%d\n", HOLE_FROM, HOLE_FROM + HOLE_PAGES - 1);
	if (ioctl(fd, MMLAB_IOC_PUNCH, &hole))
		return fail("MMLAB_IOC_PUNCH: %s", strerror(errno));
	show(fd, "punched:", &st, &used2);
	/* Exact while nothing else allocates from mmlab at the same time. */
	if (st.resident_pages != NPAGES - HOLE_PAGES || used1 - used2 != HOLE_PAGES)
		return fail("want %d pages freed", HOLE_PAGES);

	/* Outside the hole the data is still there; inside, fresh zero pages. */
	for (i = 0; i < NPAGES; i++) {
		int in_hole = i >= HOLE_FROM && i < HOLE_FROM + HOLE_PAGES;
		char want = in_hole ? 0 : (char)(i + 1);

		if (p[i * page] != want)
			return fail("page %zu holds %d, want %d", i, p[i * page], want);
	}
	show(fd, "read everything again:", &st, &used2);
	printf("pages %d..%d read back as zeros, the others kept their data\n",
	       HOLE_FROM, HOLE_FROM + HOLE_PAGES - 1);
	if (st.resident_pages != NPAGES || st.alloc_faults != NPAGES + HOLE_PAGES)
		return fail("want the hole faulted in again");

	munmap(p, NPAGES * page);
	close(fd);
	printf("ok\n");
	return 0;
}
