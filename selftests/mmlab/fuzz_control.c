// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_control - hostile input to every writable file of mmlab and to
 * /dev/mmlab, from a seeded generator (docs/fuzzing.md).
 *
 *   control            at least MMLAB_FUZZ_COMMANDS (10000) writes: commands
 *                      of docs/debugfs.md with random arguments (and ids taken
 *                      from earlier results), then mutated - bit flips,
 *                      truncation, huge and negative numbers, duplicated,
 *                      missing and unknown keys, non-ASCII, embedded NULs,
 *                      very long lines, tabs and spaces, several lines in one
 *                      write, empty writes - or plain random bytes; plus bad
 *                      user pointers, pwrite at offsets, results read back
 *                      with tiny buffers
 *   overcommit_memory, overcommit_ratio, bench
 *                      the same mutations of their own valid input
 *   every debugfs file read with tiny buffers and pread at random offsets
 *   /dev/mmlab         every ioctl of include/mmlab/mmdev.h and unknown
 *                      numbers, with bad pointers, huge sizes and random
 *                      ranges, names and zones; mmap with random lengths,
 *                      offsets, prot and flags; touching, mprotect, madvise,
 *                      mremap, munmap, read/write/lseek on the device
 *
 * Assertions: no kernel report in the log (BUG:, WARNING:, Oops, Bad page,
 * lockdep, ...; the lines that are mmlab echoing the fuzzer's own input do
 * not count); every refusal is an errno from the file's allowed set, and a
 * refused control command leaves a reason to read back; "check" answers
 * "ok" and stats add up between batches and at the end, when everything is
 * freed again; no file of mmlab shows anything that looks like a kernel
 * address (the pointer rule).
 *
 * MMLAB_FUZZ_SEED=N     the seed (default: from the clock; always printed)
 * MMLAB_FUZZ_COMMANDS=N control writes (default 10000, the minimum of the
 *                       issue; more for a longer run)
 * MMLAB_FUZZ_OPS=N      writes per other file and /dev/mmlab operations
 *                       (default 1500)
 */
#include "kselftest_harness.h"
#include "mmlab_helpers.h"
#include "mmdev_helpers.h"

#include <ctype.h>
#include <dirent.h>
#include <time.h>

/* --- the generator ------------------------------------------------------------ */

static uint64_t fuzz_seed;
static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: small, fast, and the same everywhere for a seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void reseed(uint64_t salt)
{
	rng = (fuzz_seed ^ (salt * 0x9e3779b97f4a7c15ull)) | 1;
	rnd();
}

static unsigned long env_num(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FUZZ_MAX 8192	/* longest write built (the control file takes 4096) */

struct buf {
	unsigned char b[FUZZ_MAX];
	size_t n;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->n + n > sizeof(b->b))
		n = sizeof(b->b) - b->n;
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Insert s at pos. */
static void insert(struct buf *b, size_t pos, const void *s, size_t n)
{
	if (pos > b->n)
		pos = b->n;
	if (b->n + n > sizeof(b->b))
		return;
	memmove(b->b + pos + n, b->b + pos, b->n - pos);
	memcpy(b->b + pos, s, n);
	b->n += n;
}

static int contains(const struct buf *b, const char *s)
{
	return memmem(b->b, b->n, s, strlen(s)) != NULL;
}

/* Ids seen in results, reused so that commands reach past "no such id". */
#define IDS 16
struct ids {
	uint64_t v[IDS];
	unsigned int n;
};
static struct ids handles, objects, caches, pools, pfns;

static void remember(struct ids *ids, uint64_t v)
{
	ids->v[ids->n++ % IDS] = v;
}

static uint64_t pick(const struct ids *ids)
{
	if (!ids->n || rn(8) == 0)
		return rn(6);
	return ids->v[rn(ids->n < IDS ? ids->n : IDS)];
}

static void learn(const char *res)
{
	const char *p;
	unsigned long long v;

	if (sscanf(res, "handle %llu", &v) == 1)
		remember(&handles, v);
	if ((p = strstr(res, "object ")) && sscanf(p, "object %llu", &v) == 1)
		remember(&objects, v);
	if (sscanf(res, "cache %llu", &v) == 1)
		remember(&caches, v);
	if (sscanf(res, "pool %llu", &v) == 1)
		remember(&pools, v);
	if ((p = strstr(res, "pfn 0x")) && sscanf(p, "pfn 0x%llx", &v) == 1)
		remember(&pfns, v);
}

static const char *const gfps[] = {
	"GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_USER", "GFP_NOIO", "GFP_NOFS",
	"GFP_KERNEL|__GFP_ZERO", "GFP_ATOMIC|GFP_DMA32", "GFP_KERNEL|GFP_DMA32|__GFP_NOWARN",
	"GFP_NOWAIT|__GFP_NOWARN", "__GFP_HIGH", "GFP_KERNEL|__GFP_NORETRY",
	"GFP_KERNEL|__GFP_RETRY_MAYFAIL", "GFP_ATOMIC|__GFP_MEMALLOC", "GFP_KERNEL_ACCOUNT",
	"__GFP_DMA32", "GFP_KERNEL|__GFP_COMP", "0", "GFP_KERNEL||GFP_ATOMIC", "GFP_BOGUS",
};
/* Non-sleeping only: a sleeping mempool_alloc waits for an element by design. */
static const char *const atomic_gfps[] = {
	"GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOWAIT|__GFP_NOWARN", "GFP_ATOMIC|__GFP_HIGH",
};
static const char *const contexts[] = { "process", "irqoff", "timer", "softirq" };

/*
 * A command of docs/debugfs.md with random arguments. '@' codes: o order,
 * g gfp, a atomic gfp, c context, h handle, p pfn, C cache, O object,
 * P pool, s size, n small number, N any number, z zone, b byte, f slab
 * flags, w a name.
 */
static const char *const templates[] = {
	"alloc order=@o", "alloc order=@o gfp=@g", "alloc order=@o gfp=@a context=@c",
	"free @h", "free handle=@h", "free handle=@h order=@o", "free_pfn pfn=@p order=@o",
	"free_all", "shrink", "check", "drain", "kswapd",
	"pressure consume=@n", "pressure consume=@n gfp=@a", "pressure release=@n",
	"pressure release=all", "pcp high=@n batch=@n", "pcp high=@n batch=@n zone=@z",
	"pcp default", "pcp default zone=@z", "min_free_kbytes=@N",
	"cache_create name=@w size=@s", "cache_create name=@w size=@s align=@n flags=@f",
	"cache_create name=@w size=@s ctor=fill", "cache_destroy cache=@C",
	"cache_alloc cache=@C", "cache_alloc cache=@C gfp=@g context=@c",
	"cache_alloc_bulk cache=@C count=@n", "cache_free object=@O", "cache_free @O",
	"cache_shrink cache=@C", "cache_info cache=@C",
	"kmalloc size=@s", "kmalloc size=@s gfp=@g", "kmalloc size=@s gfp=@a context=@c",
	"kmalloc_array count=@n size=@s", "kmalloc_array count=@N size=@N gfp=@g",
	"krealloc object=@O size=@s", "kfree @O", "kfree object=@O",
	"obj_fill object=@O byte=@b", "obj_check object=@O byte=@b len=@n",
	"kvmalloc size=@s", "kvmalloc size=@s gfp=@g", "kvfree @O",
	"vmalloc size=@s", "vzalloc size=@s", "vmalloc size=@s gfp=@g", "vfree object=@O",
	"mempool_create name=@w min_nr=@n type=page order=@o",
	"mempool_create name=@w min_nr=@n type=kmalloc size=@s",
	"mempool_create name=@w min_nr=@n type=slab cache=@C",
	"mempool_alloc pool=@P gfp=@a", "mempool_alloc pool=@P gfp=@a context=@c",
	"mempool_free @O", "mempool_free object=@O", "mempool_resize pool=@P min_nr=@n",
	"mempool_destroy pool=@P", "mempool_destroy @P", "mempool_info pool=@P",
};

static const char *const numbers[] = {
	"0", "1", "-1", "18446744073709551615", "18446744073709551616",
	"99999999999999999999999999999", "0xffffffffffffffff", "0x10000000000000000",
	"-9223372036854775808", "4294967295", "4294967296", "0x", "0x0", "00000000000000000001",
	"1e9", "+1", "0X1F", "0xg", "65536", "65537", "16777217", "2147483648", "4097", "-0",
};

static unsigned int chunk_order = 10;

static void expand(struct buf *b, const char *t)
{
	char tmp[64];

	for (; *t; t++) {
		if (*t != '@') {
			put(b, t, 1);
			continue;
		}
		switch (*++t) {
		case 'o':
			snprintf(tmp, sizeof(tmp), "%u", (unsigned int)rn(chunk_order + 3));
			break;
		case 'g':
			snprintf(tmp, sizeof(tmp), "%s", gfps[rn(NELEM(gfps))]);
			break;
		case 'a':
			snprintf(tmp, sizeof(tmp), "%s", atomic_gfps[rn(NELEM(atomic_gfps))]);
			break;
		case 'c':
			snprintf(tmp, sizeof(tmp), "%s", contexts[rn(NELEM(contexts))]);
			break;
		case 'h':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)pick(&handles));
			break;
		case 'p':
			snprintf(tmp, sizeof(tmp), "0x%llx",
				 (unsigned long long)(pick(&pfns) + (rn(4) ? 0 : rn(64))));
			break;
		case 'C':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)pick(&caches));
			break;
		case 'O':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)pick(&objects));
			break;
		case 'P':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)pick(&pools));
			break;
		case 's':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)
				 (rn(4) ? rn(300) : rn(3) ? rn(20000) : rn(1ull << 24)));
			break;
		case 'n':
			snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)(rn(3) ? rn(9) : rn(5000)));
			break;
		case 'N':
			if (rn(2))
				snprintf(tmp, sizeof(tmp), "%s", numbers[rn(NELEM(numbers))]);
			else
				snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)rnd() >> rn(64));
			break;
		case 'z':
			snprintf(tmp, sizeof(tmp), "%s", rn(5) ? (rn(2) ? "DMA32" : "Normal") : "HIGHMEM");
			break;
		case 'b':
			snprintf(tmp, sizeof(tmp), "0x%02x", (unsigned int)rn(300));
			break;
		case 'f':
			snprintf(tmp, sizeof(tmp), "%s", (const char *[]){ "HWCACHE_ALIGN", "DMA32",
				 "HWCACHE_ALIGN|DMA32", "RECLAIM_ACCOUNT|ACCOUNT|NO_MERGE", "POISON",
				 "0" }[rn(6)]);
			break;
		case 'w':
			snprintf(tmp, sizeof(tmp), "fz%u", (unsigned int)rn(1000));
			break;
		default:
			tmp[0] = '\0';
		}
		puts_(b, tmp);
	}
}

/* Start and length of the n-th space-separated word, or -1. */
static int word(const struct buf *b, unsigned int n, size_t *start, size_t *len)
{
	size_t i = 0, s;

	for (;;) {
		while (i < b->n && b->b[i] == ' ')
			i++;
		if (i >= b->n)
			return -1;
		s = i;
		while (i < b->n && b->b[i] != ' ')
			i++;
		if (!n--) {
			*start = s;
			*len = i - s;
			return 0;
		}
	}
}

static unsigned int nwords(const struct buf *b)
{
	size_t s, l;
	unsigned int n = 0;

	while (!word(b, n, &s, &l))
		n++;
	return n;
}

/* One mutation of b. */
static void mutate(struct buf *b)
{
	size_t s, l, pos = b->n ? rn(b->n) : 0;
	unsigned char c;
	unsigned int w = nwords(b);
	char tmp[64];

	switch (rn(16)) {
	case 0:		/* bit flip */
		if (b->n)
			b->b[pos] ^= 1u << rn(8);
		break;
	case 1:		/* any byte */
		if (b->n)
			b->b[pos] = rn(256);
		break;
	case 2:		/* truncation */
		b->n = pos;
		break;
	case 3:		/* a value replaced by a huge, negative or malformed number */
	case 4:
		if (w > 1 && !word(b, 1 + rn(w - 1), &s, &l)) {
			unsigned char *eq = memchr(b->b + s, '=', l);
			size_t vs = eq ? (size_t)(eq - b->b) + 1 : s;
			const char *num = numbers[rn(NELEM(numbers))];

			memmove(b->b + vs, b->b + s + l, b->n - s - l);
			b->n -= s + l - vs;
			insert(b, vs, num, strlen(num));
		}
		break;
	case 5:		/* a key given twice */
		if (w > 1 && !word(b, 1 + rn(w - 1), &s, &l)) {
			memcpy(tmp, b->b + s, l < sizeof(tmp) ? l : sizeof(tmp));
			insert(b, b->n, " ", 1);
			insert(b, b->n, tmp, l < sizeof(tmp) ? l : sizeof(tmp));
		}
		break;
	case 6:		/* a key missing */
		if (w > 1 && !word(b, 1 + rn(w - 1), &s, &l)) {
			memmove(b->b + s, b->b + s + l, b->n - s - l);
			b->n -= l;
		}
		break;
	case 7:		/* unknown keys and bare words */
		puts_(b, (const char *[]){ " bogus=1", " order", " =5", " order==1", " x=",
					   " gfp=", " zone=DMA", " a b c d e f g h i" }[rn(8)]);
		break;
	case 8:		/* non-ASCII */
		c = 0x80 + rn(128);
		if (rn(2))
			insert(b, pos, "\xc3\xa9", 2);
		else
			insert(b, pos, &c, 1);
		break;
	case 9:		/* embedded NUL */
		insert(b, pos, "", 1);
		break;
	case 10:	/* very long line */
		l = 200 + rn(rn(4) ? 400 : 5000);
		while (b->n < sizeof(b->b) && l--)
			put(b, rn(8) ? " " : "9", 1);
		break;
	case 11:	/* whitespace games */
		insert(b, pos, (const char *[]){ "\t", "  ", "\r", "\v", " \n" }[rn(5)], 1 + rn(2));
		break;
	case 12:	/* a second command in the same write */
		put(b, "\n", 1);
		expand(b, templates[rn(NELEM(templates))]);
		break;
	case 13:	/* leading and trailing newlines */
		insert(b, rn(2) ? 0 : b->n, "\n\n", 1 + rn(2));
		break;
	case 14:	/* duplicated bytes */
		if (b->n && pos + 8 <= b->n)
			insert(b, pos, b->b + pos, 8);
		break;
	case 15:	/* case changes */
		if (b->n && b->b[pos] >= 'a' && b->b[pos] <= 'z')
			b->b[pos] -= 32;
		break;
	}
}

/*
 * Writes the fuzzer keeps away from the kernel, each for a reason of the
 * harness rather than of mmlab:
 *  - __GFP_NOFAIL with direct reclaim waits for memory forever when the
 *    capacity is used up (as Linux's), and a sleeping mempool_alloc waits
 *    for an element forever: nobody else frees here;
 *  - "Oops" and "KASAN" are words the VM harness looks for anywhere in a
 *    kernel line (run-vm.sh), and mmlab echoes a refused word ("unknown
 *    command 'Oops'"); ':' is never echoed, so "BUG:" and "WARNING:"
 *    cannot be forged that way.
 */
static int unsafe(const struct buf *b)
{
	static const char *const sleepy[] = { "KERNEL", "NOIO", "NOFS", "USER", "RECLAIM" };
	unsigned int i;

	if (contains(b, "NOFAIL") || contains(b, "Oops") || contains(b, "KASAN"))
		return 1;
	if (contains(b, "mempool_alloc") || contains(b, "mempool_aLloc")) {
		if (memchr(b->b, '\n', b->n ? b->n - 1 : 0))
			return 1;
		if (!contains(b, "gfp="))
			return 1;
		for (i = 0; i < NELEM(sleepy); i++)
			if (contains(b, sleepy[i]))
				return 1;
	}
	/* mutated command words still reach mempool_alloc only if spelled right */
	return 0;
}

/* --- checks -------------------------------------------------------------------------- */

/*
 * Everything written since the kernel log was last read: mmlab's own log
 * lines may echo a number from it (a refused pfn, a size), which is the
 * fuzzer's, not a kernel address.
 */
static unsigned char written[1 << 20];
static size_t nwritten;

static void note_written(const void *p, size_t n)
{
	if (nwritten + n + 1 <= sizeof(written)) {
		memcpy(written + nwritten, p, n);
		nwritten += n;
		written[nwritten++] = ' ';
	}
}

/* Does any number written in b (decimal, 0x-hex or bare hex) equal v? */
static int input_has_value(const unsigned char *b, size_t n, unsigned long long v)
{
	char tmp[32];
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		if (!isxdigit(b[i]) || (i && isalnum(b[i - 1])))
			continue;
		k = i;
		if (b[k] == '0' && k + 1 < n && (b[k + 1] == 'x' || b[k + 1] == 'X'))
			k += 2;
		for (j = k; j < n && isxdigit(b[j]) && j - k < sizeof(tmp) - 1; j++)
			tmp[j - k] = b[j];
		tmp[j - k] = '\0';
		if (strtoull(tmp, NULL, 16) == v || strtoull(tmp, NULL, 10) == v)
			return 1;
	}
	return 0;
}

/*
 * Something that looks like a kernel address: 16 hex digits from
 * ffff800000000000 up (the direct map, vmalloc, modules, kernel text), with
 * or without 0x, or (decimal != 0) the same value in 20 decimal digits.
 * pfns (0x...) and hashed %p (00000000xxxxxxxx) do not match; ~0 is not an
 * address either; nor is a number the user wrote (input, may be NULL),
 * which mmlab may echo in a refusal.
 */
static const char *kernel_address_in(const char *s, size_t n, int decimal,
				     const struct buf *input)
{
	static char found[48];
	size_t i = 0, j;
	unsigned long long v;
	int letters;
	char tmp[24];

	while (i < n) {
		if (!isxdigit((unsigned char)s[i]) || (i && isalnum((unsigned char)s[i - 1]))) {
			i++;
			continue;
		}
		if (s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X'))
			i += 2;
		letters = 0;
		for (j = i; j < n && isxdigit((unsigned char)s[j]); j++)
			letters |= !isdigit((unsigned char)s[j]);
		v = 0;
		if (j - i == 16) {
			memcpy(tmp, s + i, 16);
			tmp[16] = '\0';
			v = strtoull(tmp, NULL, 16);
		} else if (decimal && !letters && j - i == 20) {
			memcpy(tmp, s + i, 20);
			tmp[20] = '\0';
			errno = 0;
			v = strtoull(tmp, NULL, 10);
			if (errno)
				v = 0;
		}
		if (v >= 0xffff800000000000ull && v != ~0ull &&
		    !(input && input_has_value(input->b, input->n, v)) &&
		    !input_has_value(written, nwritten, v)) {
			snprintf(found, sizeof(found), "%.*s", (int)(j - i), s + i);
			return found;
		}
		i = j > i ? j : i + 1;
	}
	return NULL;
}

static const char *kernel_address(const char *s, size_t n)
{
	return kernel_address_in(s, n, 1, NULL);
}

/*
 * A kernel report in the log read since the last call. mmlab's own lines
 * quoting the fuzzer's input ("mmlab: control: ...", "mmlab: bench: ...",
 * "mmlab: mmdev: ...") are the fuzzer's words, not the kernel's.
 */
static const char *kernel_report(int kmsg, char *log, size_t cap)
{
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "kernel BUG", "Bad page", "bad state",
		"general protection fault", "UBSAN:", "KASAN", "possible circular locking",
		"possible recursive locking", "inconsistent lock state", "page dumped because",
		"list_add corruption", "list_del corruption", "Call Trace:", "scheduling while atomic",
		"sleeping function called from invalid context", "kmemleak",
	};
	char *line, *save = NULL;
	const char *hit = NULL;
	unsigned int i;

	log[0] = '\0';
	if (kmsg < 0)
		return NULL;
	mmlab_kmsg_read(kmsg, log, cap);
	for (line = strtok_r(log, "\n", &save); line && !hit; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "mmlab: control: ", 16) || !strncmp(line, "mmlab: bench: ", 14) ||
		    !strncmp(line, "mmlab: mmdev: ", 14))
			continue;
		for (i = 0; i < NELEM(bad) && !hit; i++)
			if (strstr(line, bad[i]))
				hit = line;
		/* hex only, and not a number the fuzzer wrote (a refused pfn) */
		if (!hit && !strncmp(line, "mmlab", 5) &&
		    kernel_address_in(line, strlen(line), 0, NULL))
			hit = line;
	}
	nwritten = 0;	/* the next read starts a new window */
	return hit;
}

/* A user pointer the kernel must refuse (EFAULT), hidden from the compiler. */
static const void *bad_pointer(uintptr_t p)
{
	const void *volatile v = (const void *)p;

	return v;
}

static int allowed(int err, const int *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == err)
			return 1;
	return 0;
}

/* Printable rendering of a write, for messages. */
static const char *show(const void *p, size_t len)
{
	static char out[200];
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < 120; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			out[o++] = s[i];
		else
			o += snprintf(out + o, sizeof(out) - o, "\\x%02x", s[i]);
	}
	if (i < len)
		o += snprintf(out + o, sizeof(out) - o, "... (%zu bytes)", len);
	out[o] = '\0';
	return out;
}

/* A file read whole with reads of `chunk` bytes: its length, or -errno. */
static ssize_t read_chunked(const char *path, size_t chunk, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		n = read(fd, buf + len, chunk < cap - 1 - len ? chunk : cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

/* Every regular file under dir (recursively), into paths[]. */
static unsigned int list_files(const char *dir, char paths[][256], unsigned int max,
			       unsigned int n)
{
	struct dirent *de;
	struct stat st;
	char p[512];
	DIR *d = opendir(dir);

	if (!d)
		return n;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			n = list_files(p, paths, max, n);
		else if (S_ISREG(st.st_mode) && strlen(p) < 256)
			memcpy(paths[n++], p, strlen(p) + 1);
	}
	closedir(d);
	return n;
}

/*
 * Read every file of mmlab's debugfs directory: whole, with tiny reads,
 * and with pread at random offsets. Errors other than EINVAL/EPERM/EACCES
 * (write-only files) fail; so does anything that looks like a kernel
 * address. Returns 0, or -1 with why.
 */
static int read_everything(char *why, size_t whycap, unsigned int *nfiles)
{
	static char paths[256][256];
	static char text[MMLAB_VIEW_MAX], again[MMLAB_VIEW_MAX];
	unsigned int n = list_files(mmlab_dir(), paths, 256, 0), i;
	const char *addr;
	ssize_t len, len2;
	char tiny[8];
	int fd;

	*nfiles = n;
	for (i = 0; i < n; i++) {
		len = read_chunked(paths[i], 4096, text, sizeof(text));
		if (len < 0) {
			if (len == -EINVAL || len == -EACCES || len == -EPERM)
				continue;
			snprintf(why, whycap, "read %.200s: %s", paths[i], strerror(-len));
			return -1;
		}
		addr = kernel_address(text, len);
		if (addr) {
			snprintf(why, whycap, "%.200s shows a kernel address %s", paths[i], addr);
			return -1;
		}
		len2 = read_chunked(paths[i], 1 + rn(7), again, sizeof(again));
		if (len2 < 0) {
			snprintf(why, whycap, "tiny reads of %.200s: %s", paths[i], strerror(-len2));
			return -1;
		}
		addr = kernel_address(again, len2);
		if (addr) {
			snprintf(why, whycap, "%.200s (tiny reads) shows a kernel address %s", paths[i],
				 addr);
			return -1;
		}
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			off_t offs[] = { 0, 1, 7, 4095, 4096, 65536, (off_t)rn(1 << 20),
					 (off_t)1 << 40, -1 };
			unsigned int k;

			for (k = 0; k < NELEM(offs); k++) {
				ssize_t r = pread(fd, tiny, 1 + rn(sizeof(tiny)), offs[k]);

				if (r < 0 && errno != EINVAL && errno != ESPIPE) {
					snprintf(why, whycap, "pread %.200s at %lld: %s", paths[i],
						 (long long)offs[k], strerror(errno));
					close(fd);
					return -1;
				}
			}
			close(fd);
		}
	}
	return 0;
}

/* "check" says ok and the counters add up. 0, or -1 with why. */
static int consistent(int fd, char *why, size_t whycap)
{
	char res[MMLAB_RESULT_MAX];
	struct mmlab_stats s;
	int ret = mmlab_ctl(fd, res, sizeof(res), "check");

	if (ret || strcmp(res, "ok")) {
		snprintf(why, whycap, "check: %s (%.200s)", strerror(-ret), res);
		return -1;
	}
	if (mmlab_read_stats(&s, why, whycap))
		return -1;
	if (s.host_pages > s.capacity_pages) {
		snprintf(why, whycap, "host_pages %llu above capacity %llu",
			 (unsigned long long)s.host_pages, (unsigned long long)s.capacity_pages);
		return -1;
	}
	/* A snapshot taken while kswapd runs may be off; check needs no snapshot. */
	if (s.free_pages + s.used_pages + s.pcp_pages > s.host_pages + (1ull << s.chunk_order) * 2) {
		snprintf(why, whycap, "free %llu + used %llu + pcp %llu > host %llu",
			 (unsigned long long)s.free_pages, (unsigned long long)s.used_pages,
			 (unsigned long long)s.pcp_pages, (unsigned long long)s.host_pages);
		return -1;
	}
	return 0;
}

/* --- the tests --------------------------------------------------------------------------- */

FIXTURE(fuzz) {
	int fd;
	int kmsg;
	char res[MMLAB_RESULT_MAX];
	char why[512];
	char log[65536];
	struct mmlab_stats st;
	uint64_t min_free_kbytes;
};

FIXTURE_SETUP(fuzz)
{
	self->kmsg = mmlab_kmsg_open();
	mmdev_set_overcommit(0);
	mmdev_set_ratio(50);
	self->fd = mmlab_ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open control: %s", strerror(-self->fd));
	ASSERT_EQ(0, mmlab_clean(self->fd, self->res, sizeof(self->res)))
		TH_LOG("setup: %s", self->res);
	ASSERT_EQ(0, mmlab_read_stats(&self->st, self->why, sizeof(self->why)))
		TH_LOG("stats: %s", self->why);
	chunk_order = self->st.chunk_order;
	self->min_free_kbytes = 0;
	mmlab_stats_get(&self->st, "min_free_kbytes", &self->min_free_kbytes);
}

FIXTURE_TEARDOWN(fuzz)
{
	const char *bad;
	int ret;

	_metadata->trigger = 0;
	mmdev_set_overcommit(0);
	mmdev_set_ratio(50);
	if (self->fd < 0)
		return;
	mmlab_ctl(self->fd, self->res, sizeof(self->res), "min_free_kbytes=%llu",
		  (unsigned long long)self->min_free_kbytes);
	ret = mmlab_clean(self->fd, self->res, sizeof(self->res));
	EXPECT_EQ(0, ret) TH_LOG("teardown: %s", self->res);
	EXPECT_EQ(0, consistent(self->fd, self->why, sizeof(self->why)))
		TH_LOG("teardown: %s", self->why);
	bad = kernel_report(self->kmsg, self->log, sizeof(self->log));
	EXPECT_TRUE(bad == NULL) TH_LOG("kernel log: %.300s", bad);
	close(self->fd);
	if (self->kmsg >= 0)
		close(self->kmsg);
}

/*
 * The control file: at least MMLAB_FUZZ_COMMANDS writes in batches of 500;
 * after each batch "check", stats and the kernel log; the state that would
 * make later commands slow or meaningless (pressure, min_free_kbytes) is
 * put back every few commands.
 */
/* 10,000 writes take 10-60 s under TCG; the harness's default is 30 s. */
TEST_F_TIMEOUT(fuzz, control, 600)
{
	static const int ok_errnos[] = { EINVAL, ENOMEM, ENOENT, EBUSY, ENOSPC, EUCLEAN };
	unsigned long total = env_num("MMLAB_FUZZ_COMMANDS", 10000), done = 0, skipped = 0;
	unsigned long errs[6] = { 0 }, accepted = 0, efault = 0, tiny_reads = 0;
	unsigned int since_pressure = 0, since_mfk = 0;
	double t0 = now_s();
	struct buf b;
	const char *bad;
	char *pg;
	ssize_t n;
	int err;

	reseed(1);
	/* A buffer followed by an unmapped page, for writes that run off it. */
	pg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pg);
	munmap(pg + PAGE, PAGE);
	memset(pg, 'a', PAGE);

	while (done < total) {
		b.n = 0;
		if (rn(10) == 0) {		/* plain random bytes */
			size_t len = rn(rn(8) ? 64 : 600);

			while (b.n < len) {
				unsigned char c = rn(4) ? 0x20 + rn(95) : rn(256);

				put(&b, &c, 1);
			}
		} else {
			unsigned int m, muts = rn(3) ? rn(3) : 3 + rn(5);

			expand(&b, templates[rn(NELEM(templates))]);
			for (m = 0; m < muts; m++)
				mutate(&b);
			if (rn(2))
				put(&b, "\n", 1);
		}
		if (unsafe(&b)) {
			skipped++;
			continue;
		}

		switch (rn(40)) {
		case 0:		/* a bad user pointer: EFAULT, nothing run */
			n = write(self->fd, bad_pointer(rn(2) ? 8 : 0xffff888000000000ull),
				  1 + rn(64));
			err = n < 0 ? errno : 0;
			ASSERT_EQ(EFAULT, err) TH_LOG("write from a bad pointer: %s", strerror(err));
			efault++;
			done++;
			continue;
		case 1:		/* a buffer that runs into an unmapped page */
			n = write(self->fd, pg + PAGE - 16, 16 + 1 + rn(100));
			err = n < 0 ? errno : 0;
			ASSERT_EQ(EFAULT, err) TH_LOG("write across a hole: %s", strerror(err));
			efault++;
			done++;
			continue;
		case 2:		/* pwrite at an offset: the file is a stream */
			n = pwrite(self->fd, b.b, b.n, rn(1 << 20));
			err = n < 0 ? errno : 0;
			ASSERT_EQ(ESPIPE, err) TH_LOG("pwrite: %s", strerror(err));
			done++;
			continue;
		case 3:		/* empty write */
			b.n = 0;
			break;
		}

		note_written(b.b, b.n);
		n = write(self->fd, b.b, b.n);
		err = n < 0 ? errno : 0;
		if (!err)
			ASSERT_EQ((ssize_t)b.n, n) TH_LOG("short write of '%s'", show(b.b, b.n));
		/* The result, read back whole or in tiny pieces. */
		{
			size_t got = 0, chunk = rn(4) ? sizeof(self->res) : 1 + rn(5);
			ssize_t r;

			if (chunk < 8)
				tiny_reads++;
			while (got + 1 < sizeof(self->res)) {
				r = read(self->fd, self->res + got,
					 chunk < sizeof(self->res) - 1 - got ? chunk :
					 sizeof(self->res) - 1 - got);
				if (r <= 0)
					break;
				got += r;
			}
			self->res[got] = '\0';
			while (got && self->res[got - 1] == '\n')
				self->res[--got] = '\0';
		}
		if (err) {
			unsigned int k;

			ASSERT_TRUE(allowed(err, ok_errnos, NELEM(ok_errnos)))
				TH_LOG("'%s': errno %d (%s) is not one a command gives",
				       show(b.b, b.n), err, strerror(err));
			ASSERT_NE(0, self->res[0])
				TH_LOG("'%s' refused (%s) without a reason", show(b.b, b.n),
				       strerror(err));
			for (k = 0; k < NELEM(ok_errnos); k++)
				if (ok_errnos[k] == err)
					errs[k]++;
			/* "check" finding corruption is a failure, not an answer */
			ASSERT_FALSE(err == EUCLEAN && !strncmp(self->res, "control: check", 14))
				TH_LOG("'%s': %s", show(b.b, b.n), self->res);
		} else {
			accepted++;
			learn(self->res);
		}
		/*
		 * Hex only: mmlab prints no pointer in decimal, and a refusal may
		 * echo a size computed from the input (e.g. 0xffffffff00000000
		 * as 18446744069414584320).
		 */
		bad = kernel_address_in(self->res, strlen(self->res), 0, &b);
		ASSERT_EQ(NULL, bad) TH_LOG("result '%s' shows a kernel address", self->res);
		done++;

		if (contains(&b, "pressure consume"))
			since_pressure = 1;
		if (contains(&b, "min_free_kbytes="))
			since_mfk = 1;
		if (since_pressure && ++since_pressure > 20) {
			mmlab_ctl(self->fd, self->res, sizeof(self->res), "pressure release=all");
			since_pressure = 0;
		}
		if (since_mfk && ++since_mfk > 20) {
			mmlab_ctl(self->fd, self->res, sizeof(self->res), "min_free_kbytes=%llu",
				  (unsigned long long)self->min_free_kbytes);
			since_mfk = 0;
		}

		if (done % 500 == 0 || done == total) {
			ASSERT_EQ(0, consistent(self->fd, self->why, sizeof(self->why)))
				TH_LOG("after %lu commands: %s", done, self->why);
			bad = kernel_report(self->kmsg, self->log, sizeof(self->log));
			ASSERT_EQ(NULL, bad) TH_LOG("after %lu commands, kernel log: %.300s", done,
						    bad);
			if (done % 2500 == 0 || done == total)
				printf("# control: %lu/%lu writes, %lu accepted, EINVAL %lu ENOMEM %lu "
				       "ENOENT %lu EBUSY %lu ENOSPC %lu EUCLEAN %lu EFAULT %lu, "
				       "%lu tiny reads, %.1f s\n", done, total, accepted, errs[0],
				       errs[1], errs[2], errs[3], errs[4], errs[5], efault,
				       tiny_reads, now_s() - t0);
			/* Start the next batch from a clean allocator now and then. */
			if (rn(3) == 0)
				mmlab_clean(self->fd, self->res, sizeof(self->res));
		}
	}
	printf("# control: %lu writes in %.1f s (%lu kept back as unsafe for the harness)\n",
	       done, now_s() - t0, skipped);
	munmap(pg, PAGE);
}

/* Valid input of each other writable file, mutated like the commands. */
static void other_input(struct buf *b, const char *file)
{
	unsigned int m, muts;

	b->n = 0;
	if (!strcmp(file, "bench")) {
		puts_(b, (const char *[]){ "run", "run runs=3", "runs=1", "stop", "" }[rn(5)]);
	} else {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)
			 (rn(3) ? rn(!strcmp(file, "overcommit_ratio") ? 120 : 4) : rnd() >> rn(64)));
		puts_(b, rn(4) ? tmp : numbers[rn(NELEM(numbers))]);
	}
	if (rn(2))
		put(b, "\n", 1);
	muts = rn(3) ? rn(3) : 3 + rn(5);
	for (m = 0; m < muts; m++)
		mutate(b);
}

/* What bench would take (strim, "run", then " runs=N" or nothing): runs it. */
static int bench_would_run(const struct buf *b)
{
	size_t i = 0, n = b->n;

	if (memchr(b->b, '\0', n))
		n = (const unsigned char *)memchr(b->b, '\0', n) - b->b;
	while (i < n && isspace(b->b[i]))
		i++;
	return n - i >= 3 && !memcmp(b->b + i, "run", 3);
}

/*
 * Writable files of mmlab this program does not know by name (added by a
 * later feature, e.g. fault injection attributes): each one's content is
 * saved, `ops` mutated writes of it and of numbers are made, and the
 * content is written back, which must be accepted. Any errno is fine
 * here except those that say the kernel lost its footing (EIO, ENOTTY);
 * what counts is the log and the consistency checks around it.
 */
static int fuzz_unknown_writable(unsigned long ops, unsigned long *refused,
				 unsigned long *accepted, char *why, size_t whycap)
{
	/*
	 * Fuzzed by name above, or left alone: fault injection's "verbose"
	 * at 2 makes every injected failure print a stack trace, which the
	 * harness cannot tell from a kernel bug.
	 */
	static const char *const known[] = { "/control", "/bench", "/overcommit_memory",
					     "/overcommit_ratio", "/verbose" };
	static char paths[256][256];
	unsigned int n = list_files(mmlab_dir(), paths, 256, 0), i, k;
	char saved[4096];
	struct stat st;
	struct buf b;
	ssize_t len, w;
	unsigned long op;
	int fd, err;

	for (i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/');

		if (stat(paths[i], &st) || !(st.st_mode & S_IWUSR))
			continue;
		for (k = 0; k < NELEM(known); k++)
			if (!strcmp(base, known[k]))
				break;
		if (k < NELEM(known))
			continue;
		len = read_chunked(paths[i], 4096, saved, sizeof(saved));
		if (len < 0)
			len = 0;
		printf("# fuzzing %s (saved %zd bytes)\n", paths[i], len);
		fd = open(paths[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		for (op = 0; op < ops; op++) {
			unsigned int m, muts = 1 + rn(4);

			b.n = 0;
			if (rn(2))
				put(&b, saved, len);
			else
				puts_(&b, numbers[rn(NELEM(numbers))]);
			for (m = 0; m < muts; m++)
				mutate(&b);
			note_written(b.b, b.n);
			w = rn(3) ? write(fd, b.b, b.n) : pwrite(fd, b.b, b.n, rn(64));
			err = w < 0 ? errno : 0;
			if (err == EIO || err == ENOTTY) {
				snprintf(why, whycap, "%.200s: '%s': %s", paths[i], show(b.b, b.n),
					 strerror(err));
				close(fd);
				return -1;
			}
			if (err)
				(*refused)++;
			else
				(*accepted)++;
		}
		close(fd);
		/* Put it back, as one write of what it showed. */
		fd = open(paths[i], O_WRONLY | O_CLOEXEC);
		w = fd < 0 ? -1 : write(fd, saved, len);
		err = w < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (len && err) {
			snprintf(why, whycap, "%.200s does not take back what it showed ('%s'): %s",
				 paths[i], show(saved, len), strerror(err));
			return -1;
		}
	}
	return 0;
}

TEST_F_TIMEOUT(fuzz, other_writable_files, 300)
{
	static const char *const files[] = { "overcommit_memory", "overcommit_ratio", "bench" };
	static const int ok_errnos[] = { EINVAL };
	unsigned long ops = env_num("MMLAB_FUZZ_OPS", 1500), i, refused = 0, accepted = 0;
	unsigned int f, nfiles;
	double t0 = now_s();
	uint64_t v;
	char path[512];
	const char *bad;
	struct buf b;
	ssize_t n;
	int fd, err;

	reseed(2);
	for (f = 0; f < NELEM(files); f++) {
		mmlab_path(path, sizeof(path), files[f]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd) TH_LOG("open %s: %s", path, strerror(errno));
		for (i = 0; i < ops; i++) {
			other_input(&b, files[f]);
			if (!strcmp(files[f], "bench") && bench_would_run(&b))
				continue;	/* a benchmark run takes minutes under TCG */
			switch (rn(12)) {
			case 0:
				n = write(fd, bad_pointer(8), 1 + rn(16));
				err = n < 0 ? errno : 0;
				ASSERT_EQ(EFAULT, err) TH_LOG("%s: write from a bad pointer: %s",
							      files[f], strerror(err));
				continue;
			case 1:
				n = pwrite(fd, b.b, b.n, rn(100));
				err = n < 0 ? errno : 0;
				ASSERT_TRUE(err == ESPIPE || err == EINVAL || err == 0)
					TH_LOG("%s: pwrite: %s", files[f], strerror(err));
				break;
			default:
				note_written(b.b, b.n);
				n = write(fd, b.b, b.n);
				err = n < 0 ? errno : 0;
			}
			if (err) {
				ASSERT_TRUE(allowed(err, ok_errnos, NELEM(ok_errnos)) || err == ESPIPE)
					TH_LOG("%s: '%s': errno %d (%s)", files[f], show(b.b, b.n),
					       err, strerror(err));
				refused++;
			} else {
				accepted++;
			}
			if (strcmp(files[f], "bench")) {
				ASSERT_EQ(0, mmdev_debugfs_num(files[f], &v))
					TH_LOG("%s unreadable after '%s'", files[f], show(b.b, b.n));
				ASSERT_LE(v, !strcmp(files[f], "overcommit_ratio") ? 100ull : 2ull)
					TH_LOG("%s reads %llu after '%s'", files[f],
					       (unsigned long long)v, show(b.b, b.n));
			}
		}
		close(fd);
		mmdev_set_overcommit(0);
		mmdev_set_ratio(50);
		bad = kernel_report(self->kmsg, self->log, sizeof(self->log));
		ASSERT_EQ(NULL, bad) TH_LOG("after %s, kernel log: %.300s", files[f], bad);
	}
	ASSERT_EQ(0, fuzz_unknown_writable(ops / 4, &refused, &accepted, self->why,
					   sizeof(self->why)))
		TH_LOG("%s", self->why);
	bad = kernel_report(self->kmsg, self->log, sizeof(self->log));
	ASSERT_EQ(NULL, bad) TH_LOG("after the other writable files, kernel log: %.300s", bad);
	ASSERT_EQ(0, read_everything(self->why, sizeof(self->why), &nfiles)) TH_LOG("%s", self->why);
	printf("# other files: %lu writes refused, %lu accepted; %u files read whole, in tiny "
	       "pieces and at random offsets; %.1f s\n", refused, accepted, nfiles, now_s() - t0);
}

/* --- /dev/mmlab ------------------------------------------------------------------------- */

#define MAPS 8
#define FDS 4

struct mapping {
	unsigned char *p;
	size_t len;
	int prot;
};

static unsigned long random_ioctl_cmd(void)
{
	static const unsigned long known[] = {
		MMLAB_IOC_SET_SIZE, MMLAB_IOC_STATS, MMLAB_IOC_NAME, MMLAB_IOC_ATTACH,
		MMLAB_IOC_PUNCH, MMLAB_IOC_SET_ZONE,
	};

	switch (rn(6)) {
	case 0:		/* another type, direction or size with a known number */
		return _IOC(rn(4), rn(3) ? 'M' : rn(256), 1 + rn(6), rn(3) ? 8 : rn(1 << 14));
	case 1:		/* unknown numbers of mmlab's type */
		return _IOC(rn(4), 'M', rn(2) ? 0 : 7 + rn(249), rn(128));
	case 2:
		return (unsigned int)rnd();
	default:
		return known[rn(NELEM(known))];
	}
}

static uint64_t random_size(void)
{
	static const uint64_t sizes[] = {
		0, 1, 4095, 4096, 4097, 1ull << 20, 1ull << 30, 1ull << 40, 1ull << 62, ~0ull,
		~0ull - 4095, ~0ull - 4096, 1ull << 63,
	};

	return rn(2) ? sizes[rn(NELEM(sizes))] : rn(3) ? rn(64) * PAGE : rnd() >> rn(64);
}

TEST_F_TIMEOUT(fuzz, mmdev, 300)
{
	static const int ioctl_errnos[] = { EINVAL, EFAULT, ENOTTY, ENOMEM, ENOENT, EBUSY,
					    EEXIST, ENOSPC };
	static const int mmap_errnos[] = { EINVAL, ENOMEM, EACCES, EPERM, ENODEV, EOVERFLOW,
					   ENXIO, EAGAIN, EOPNOTSUPP, EBUSY, EFAULT };
	unsigned long ops = env_num("MMLAB_FUZZ_OPS", 1500), i;
	unsigned long n_ioctl = 0, n_mmap = 0, n_maps = 0, n_sig = 0, n_other = 0;
	struct mapping maps[MAPS] = { 0 };
	int fds[FDS], nfd, k, err;
	double t0 = now_s();
	unsigned char arg[256] __attribute__((aligned(8)));
	const char *bad;
	char *hole;
	long ret;
	void *p;

	reseed(3);
	for (k = 0; k < FDS; k++)
		fds[k] = -1;
	hole = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	munmap(hole + PAGE, PAGE);
	mmdev_catch_fault_signals();

	for (i = 0; i < ops; i++) {
		nfd = rn(FDS);
		if (fds[nfd] < 0 || rn(50) == 0) {
			if (fds[nfd] >= 0)
				close(fds[nfd]);
			fds[nfd] = mmdev_open();
			ASSERT_LE(0, fds[nfd]) TH_LOG("open %s: %s", MMDEV_PATH, strerror(errno));
		}
		switch (rn(10)) {
		case 0: case 1: case 2: case 3: {	/* ioctl */
			unsigned long cmd = random_ioctl_cmd();
			void *a;

			for (k = 0; k < (int)sizeof(arg); k++)
				arg[k] = rn(256);
			switch (_IOC_NR(cmd) == 5 && _IOC_TYPE(cmd) == 'M' ? 9 : rn(10)) {
			case 0:
				a = NULL;
				break;
			case 1:
				a = (void *)0xffff888000000000ull;
				break;
			case 2:
				a = hole + PAGE - 4;	/* runs into the hole */
				break;
			case 3: {			/* a name, valid or not */
				static const char *const names[] = {
					"fz", "fz.1", "fz-a_b", "", "bad name", "x/y", "\xc3\xa9",
					"0123456789012345678901234567890", "01234567890123456789012345678901",
				};
				const char *nm = names[rn(NELEM(names))];

				memset(arg, 0, sizeof(arg));
				memcpy(arg, nm, strlen(nm));
				if (rn(4) == 0)
					memset(arg, 'a', 32);	/* no NUL */
				a = arg;
				break;
			}
			case 9: {			/* a range */
				uint64_t r[2] = { random_size(), random_size() };

				memcpy(arg, r, sizeof(r));
				a = arg;
				break;
			}
			default: {			/* a size or zone */
				uint64_t v = rn(3) ? random_size() : rn(4);

				memcpy(arg, &v, sizeof(v));
				a = arg;
			}
			}
			ret = ioctl(fds[nfd], cmd, a);
			err = ret < 0 ? errno : 0;
			/*
			 * Other types may be the VFS's own ioctls (FIONBIO, FIOCLEX,
			 * ...), which answer for themselves; mmlab's are held to
			 * the documented set.
			 */
			if (err && _IOC_TYPE(cmd) == 'M')
				ASSERT_TRUE(allowed(err, ioctl_errnos, NELEM(ioctl_errnos)))
					TH_LOG("ioctl 0x%lx: errno %d (%s)", cmd, err, strerror(err));
			n_ioctl++;
			break;
		}
		case 4: case 5: {			/* mmap */
			static const int flagset[] = {
				MAP_SHARED, MAP_PRIVATE, MAP_SHARED | MAP_POPULATE,
				MAP_SHARED | MAP_NORESERVE, MAP_SHARED_VALIDATE,
				MAP_SHARED_VALIDATE | 0x400000, MAP_PRIVATE | MAP_POPULATE, 0,
				MAP_SHARED | MAP_LOCKED, MAP_SHARED | MAP_HUGETLB,
				MAP_SHARED | MAP_GROWSDOWN, MAP_SHARED | MAP_32BIT,
			};
			int prot = rn(8) | (rn(10) ? 0 : 1 << rn(31));
			int flags = flagset[rn(NELEM(flagset))];
			size_t len = rn(4) ? (1 + rn(16)) * PAGE : random_size();
			off_t off = rn(3) ? (off_t)(rn(16) * PAGE) : (off_t)random_size();

			if ((flags & MAP_POPULATE) && len > 1024 * PAGE)
				len = 1024 * PAGE;	/* populate faults every page in */
			for (k = 0; k < MAPS && maps[k].p; k++)
				;
			if (k == MAPS)
				break;
			p = mmap(NULL, len, prot, flags, fds[nfd], off);
			n_mmap++;
			if (p == MAP_FAILED) {
				err = errno;
				ASSERT_TRUE(allowed(err, mmap_errnos, NELEM(mmap_errnos)))
					TH_LOG("mmap len %zu prot 0x%x flags 0x%x off %lld: errno %d (%s)",
					       len, prot, flags, (long long)off, err, strerror(err));
				break;
			}
			maps[k] = (struct mapping){ p, len, prot };
			n_maps++;
			break;
		}
		case 6: {				/* touch a mapping */
			size_t pages;
			int sig;

			k = rn(MAPS);
			if (!maps[k].p || !(maps[k].prot & PROT_READ))
				break;
			pages = (maps[k].len + PAGE - 1) / PAGE;
			{
				size_t first = rn(pages), left = pages - first;

				/* never past the mapping: the next one may be ours */
				mmdev_touch(maps[k].p + first * PAGE, 1 + rn(left < 8 ? left : 8), 1,
					    (maps[k].prot & PROT_WRITE) && rn(2),
					    (unsigned char)rnd(), &sig);
			}
			n_sig += sig != 0;
			break;
		}
		case 7: {				/* mprotect, madvise, mremap */
			static const int advice[] = { MADV_DONTNEED, MADV_REMOVE, MADV_WILLNEED,
						      MADV_COLD, MADV_PAGEOUT, MADV_DONTFORK,
						      MADV_DOFORK, MADV_FREE, MADV_POPULATE_READ,
						      MADV_POPULATE_WRITE, 12345 };
			size_t pages;

			k = rn(MAPS);
			if (!maps[k].p)
				break;
			pages = (maps[k].len + PAGE - 1) / PAGE;
			switch (rn(3)) {
			case 0:
				if (!mprotect(maps[k].p, maps[k].len, rn(8)))
					maps[k].prot = 0;	/* unknown now: no more touching */
				break;
			case 1:
				(void)madvise(maps[k].p + rn(pages) * PAGE,
					      (1 + rn(pages)) * PAGE, advice[rn(NELEM(advice))]);
				break;
			case 2: {
				size_t len = (1 + rn(32)) * PAGE;

				p = mremap(maps[k].p, maps[k].len, len, MREMAP_MAYMOVE);
				if (p != MAP_FAILED) {
					maps[k].p = p;
					maps[k].len = len;
				}
				break;
			}
			}
			n_other++;
			break;
		}
		case 8:					/* munmap, maybe of a part */
			k = rn(MAPS);
			if (!maps[k].p)
				break;
			if (rn(3) == 0 && maps[k].len > PAGE) {
				/* split the VMA first, then keep only the first page */
				munmap(maps[k].p + PAGE, PAGE);
				munmap(maps[k].p + PAGE, maps[k].len - PAGE);
				maps[k].len = PAGE;
			} else {
				munmap(maps[k].p, maps[k].len);
				maps[k].p = NULL;
			}
			break;
		case 9: {				/* read, write, lseek on the device */
			char tmp[64];

			switch (rn(3)) {
			case 0:
				ret = read(fds[nfd], tmp, rn(sizeof(tmp)));
				break;
			case 1:
				ret = write(fds[nfd], tmp, rn(sizeof(tmp)));
				break;
			default:
				ret = lseek(fds[nfd], (off_t)random_size(), rn(5));
			}
			err = ret < 0 ? errno : 0;
			ASSERT_TRUE(!err || err == EINVAL || err == ESPIPE || err == ENXIO ||
				    err == EOVERFLOW || err == EBADF)
				TH_LOG("read/write/lseek on %s: %s", MMDEV_PATH, strerror(err));
			n_other++;
			break;
		}
		}
		if (rn(200) == 0) {			/* overcommit modes change underneath */
			mmdev_set_overcommit(rn(3));
			mmdev_set_ratio(rn(101));
		}
		if (i % 500 == 499) {
			bad = kernel_report(self->kmsg, self->log, sizeof(self->log));
			ASSERT_EQ(NULL, bad) TH_LOG("after %lu operations, kernel log: %.300s", i + 1,
						    bad);
		}
	}
	/* The pointer rule with regions, names and fault logs in the views. */
	{
		unsigned int nfiles;

		ASSERT_EQ(0, read_everything(self->why, sizeof(self->why), &nfiles))
			TH_LOG("%s", self->why);
	}
	for (k = 0; k < MAPS; k++)
		if (maps[k].p)
			munmap(maps[k].p, maps[k].len);
	for (k = 0; k < FDS; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	munmap(hole, PAGE);
	mmdev_set_overcommit(0);
	mmdev_set_ratio(50);
	/* Every region is gone once nothing maps or opens it. */
	ASSERT_EQ(0ull, mmdev_wait_stat("regions", 0, 5000))
		TH_LOG("regions still there: %llu", (unsigned long long)mmdev_stat("regions"));
	printf("# mmdev: %lu ioctls, %lu mmaps (%lu mapped), %lu SIGBUS/SIGSEGV caught, "
	       "%lu other calls, %.1f s\n", n_ioctl, n_mmap, n_maps, n_sig, n_other, now_s() - t0);
}

/* The pointer rule over a busy mmlab: every kind of object alive. */
TEST_F(fuzz, no_kernel_address_in_any_file)
{
	static const char *const setup[] = {
		"alloc order=0", "alloc order=2 gfp=GFP_KERNEL|GFP_DMA32",
		"cache_create name=fzptr size=200", "cache_alloc cache=%llu", "kmalloc size=100",
		"kmalloc size=20000", "vmalloc size=40000", "kvmalloc size=9000",
		"mempool_create name=fzpool min_nr=2 type=kmalloc size=64",
	};
	unsigned long long cache = 0;
	unsigned int i, nfiles;
	unsigned char *p;
	int fd;

	reseed(4);
	for (i = 0; i < NELEM(setup); i++) {
		ASSERT_EQ(0, mmlab_ctl(self->fd, self->res, sizeof(self->res), setup[i], cache))
			TH_LOG("%s: %s", setup[i], self->res);
		if (!strncmp(self->res, "cache ", 6))
			cache = strtoull(self->res + 6, NULL, 10);
		ASSERT_EQ(NULL, kernel_address(self->res, strlen(self->res)))
			TH_LOG("'%s' answers '%s'", setup[i], self->res);
	}
	fd = mmdev_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mmdev_name(fd, "fzptr"));
	ASSERT_EQ(0, mmdev_set_size(fd, 8 * PAGE));
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	mmdev_fill(p, 8, 1);
	ASSERT_EQ(0, read_everything(self->why, sizeof(self->why), &nfiles)) TH_LOG("%s", self->why);
	munmap(p, 8 * PAGE);
	close(fd);
	printf("# %u files of %s read: no kernel address\n", nfiles, mmlab_dir());
}

int main(int argc, char **argv)
{
	fuzz_seed = env_num("MMLAB_FUZZ_SEED", 0);
	if (!fuzz_seed)
		fuzz_seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	printf("# fuzz_control: seed %llu (MMLAB_FUZZ_SEED=%llu repeats this run)\n",
	       (unsigned long long)fuzz_seed, (unsigned long long)fuzz_seed);
	if (access(mmlab_dir(), F_OK)) {
		ksft_print_header();
		ksft_exit_skip("%s: %s (is mmlab.ko loaded?)\n", mmlab_dir(), strerror(errno));
	}
	return test_harness_run(argc, argv);
}
