// SPDX-License-Identifier: GPL-2.0
/*
 * host_log.c - text, time and assertions for the core.
 *
 * Warnings are rate limited: most of them are answers to bad user input on
 * the control file, and a script looping over garbage must not flood the log.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/ktime.h>

#include "mmlab/host.h"

void mmlab_host_log(enum mmlab_log_level level, const char *msg)
{
	switch (level) {
	case MMLAB_LOG_ERR:
		pr_err("%s\n", msg);
		break;
	case MMLAB_LOG_WARN:
		pr_warn_ratelimited("%s\n", msg);
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

void mmlab_host_assert_fail(const char *expr, const char *file, int line)
{
	WARN(1, "mmlab: assertion '%s' failed at %s:%d\n", expr, file, line);
}
