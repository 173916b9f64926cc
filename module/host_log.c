// SPDX-License-Identifier: GPL-2.0
/*
 * host_log.c - text, time and assertions for the core.
 *
 * Lines the core marks MMLAB_LOG_RATELIMITED (answers to bad input on the
 * control file, bad frees) go through printk's rate limit, so a script
 * looping over garbage cannot flood the log. Other lines never do: the core
 * limits its multi-line reports (allocation failures) as a whole, and a
 * per-line limit would cut them in the middle.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/ktime.h>
#include <linux/sched/clock.h>

#include "mmlab/host.h"

void mmlab_host_log(int level, const char *msg)
{
	if (level & MMLAB_LOG_RATELIMITED) {
		switch (level & ~MMLAB_LOG_RATELIMITED) {
		case MMLAB_LOG_ERR:
			pr_err_ratelimited("%s\n", msg);
			break;
		case MMLAB_LOG_WARN:
			pr_warn_ratelimited("%s\n", msg);
			break;
		default:
			pr_info_ratelimited("%s\n", msg);
			break;
		}
		return;
	}
	switch (level) {
	case MMLAB_LOG_ERR:
		pr_err("%s\n", msg);
		break;
	case MMLAB_LOG_WARN:
		pr_warn("%s\n", msg);
		break;
	case MMLAB_LOG_NOTICE:
		pr_notice("%s\n", msg);
		break;
	case MMLAB_LOG_INFO:
		pr_info("%s\n", msg);
		break;
	default:
		pr_debug("%s\n", msg);
		break;
	}
}

int mmlab_host_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	return vsnprintf(buf, size, fmt, args);
}

uint64_t mmlab_host_now_ns(void)
{
	return ktime_get_ns();
}

uint64_t mmlab_host_clock_ns(void)
{
	return local_clock();
}

void mmlab_host_assert_fail(const char *expr, const char *file, int line)
{
	WARN(1, "mmlab: assertion '%s' failed at %s:%d\n", expr, file, line);
}
