# SPDX-License-Identifier: GPL-2.0
#
# mmlab - the user's entry points. The module itself is described by Kbuild.
#
#   make                 build mmlab.ko for Debian's default kernel (6.1)
#   make KVER=<release>  ... for another installed kernel (or KDIR=<build dir>)
#   make run             build, boot a VM, load mmlab, narrate a demo
#   make check           host tests, module checks and VM tests on 6.1 and
#                        6.12, then check-debug (CHECK_DEBUG=0 leaves it out)
#   make check-host      only the host tests (GoogleTest under ASan/UBSan)
#   make check-debug     the VM suites on the debug kernel (KASAN, kmemleak,
#                        lockdep, ...), built from linux-source-6.1 into
#                        /var/cache/mmlab/debug-kernel/ on first use (12-33 min
#                        on 2 cores, idle to busy) and reused;
#                        then 8-14 min a run. docs/debug-kernel.md
#   make stress          the stress program, 60 s with fault injection, in a
#                        4-vCPU VM on 6.1, 6.12 and 6.12-rt (docs/stress.md)
#   make bench           mmlab vs the host allocators, and /dev/mmlab's page
#                        faults vs anonymous memory, each in one VM boot
#                        (reports numbers, never fails on speed)
#   make clean
#
# Every target installs what it needs from Debian's archive first
# (tools/install-deps.sh); nothing else has to be set up by hand.

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build

# Kernel flavours tested by `make check`, and the one `make`/`make run` use.
FLAVOURS := 6.1 6.12
FLAVOUR ?= 6.1

# KVER resolves lazily (only targets that need it pay for apt-cache).
ifeq ($(origin KVER),undefined)
KVER = $(eval KVER := $$(shell $(TOP)/vm-images/resolve-kver.sh $(FLAVOUR)))$(KVER)
endif
# Installed headers, or Debian's unpacked into the cache (fetch-headers.sh).
ifeq ($(origin KDIR),undefined)
KDIR = $(eval KDIR := $$(shell $(TOP)/vm-images/fetch-headers.sh $(KVER)))$(KDIR)
endif

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

.PHONY: all modules deps deps-test check check-host check-modules check-vm \
	check-stress stress check-debug check-debug-steps run bench clean help

all: modules

help:
	@sed -n '3,24p' $(TOP)/Makefile

# With KVER from the command line, its headers; else the flavour's (resolved
# after apt's lists are fresh, so KVER is never taken from stale lists).
deps:
	$(Q)$(TOP)/tools/install-deps.sh \
		$(if $(filter command line,$(origin KVER)),--release "$(KVER)",--kernels "$(FLAVOUR)")

deps-test:
	$(Q)$(TOP)/tools/install-deps.sh --kernels "$(FLAVOURS)" --tests

# In-place build, as DKMS would do it, followed by the C++ runtime checks.
modules: $(if $(filter command line,$(origin KDIR)),,deps)
	$(Q)$(MAKE) -C $(KDIR) M=$(TOP) modules
	$(Q)$(TOP)/tools/check-ko.sh $(TOP)/mmlab.ko $(KDIR)

# ---------------------------------------------------------------------------
# make run: the demo.

# What the guest saves, and its pictures (RUN_OUT/images): docs/pictures.md.
RUN_OUT ?= $(BUILD)/run/out

run: modules
	$(Q)$(MAKE) -s -C $(TOP)/selftests/mmlab_client KDIR=$(KDIR) MMLAB_BUILD=$(TOP) \
		OUT=$(BUILD)/run/mmlab_client
	$(Q)$(MAKE) -s -C $(TOP)/examples/mmdev OUT=$(BUILD)/run/examples
	$(Q)$(MAKE) -s -C $(TOP)/tools/slabtop OUT=$(BUILD)/run
	$(Q)$(TOP)/vm-images/vm-demo.sh --kver $(KVER) --module $(TOP)/mmlab.ko \
		--client $(BUILD)/run/mmlab_client/mmlab_client.ko --examples $(BUILD)/run/examples \
		--slabtop $(BUILD)/run/mmlab-slabtop --saved $(RUN_OUT)

# ---------------------------------------------------------------------------
# make bench: numbers, not a test. The tables land in build/bench/ and, with
# the machine they came from, in the generated parts of docs/benchmarks.md.
# BENCH_ONLY=pages or BENCH_ONLY=fault runs (and updates) one part only.

BENCH_RUNS ?= 7
BENCH_ONLY ?=

bench: modules
	$(Q)$(MAKE) -s -C $(TOP)/bench OUT=$(BUILD)/bench/progs
	$(Q)$(TOP)/vm-images/vm-bench.sh --kver $(KVER) --module $(TOP)/mmlab.ko \
		--runs $(BENCH_RUNS) --out $(BUILD)/bench/results.md \
		--fault-prog $(BUILD)/bench/progs/page_fault \
		--fault-out $(BUILD)/bench/fault.md $(if $(BENCH_ONLY),--only $(BENCH_ONLY))
	$(Q)$(if $(filter fault,$(BENCH_ONLY)),:,$(TOP)/tools/update-benchmarks.sh \
		$(BUILD)/bench/results.md $(TOP)/docs/benchmarks.md)
	$(Q)$(if $(filter pages,$(BENCH_ONLY)),:,$(TOP)/tools/update-benchmarks.sh \
		$(BUILD)/bench/fault.md $(TOP)/docs/benchmarks.md fault)

# ---------------------------------------------------------------------------
# make check: everything, on both kernels; one summary line at the end.
# Each step records its results under build/results/; a failing step does not
# stop the others, so one run shows every failure.

RESULTS := $(BUILD)/results

# CHECK_DEBUG=0: without the debug kernel (8-14 min more with the
# kernel cached, 20-50 min when it has to be built; CI builds it every time).
CHECK_DEBUG ?= 1

check: deps-test
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(Q)$(MAKE) --no-print-directory -k check-host check-modules check-vm check-stress \
		$(if $(filter 1,$(CHECK_DEBUG)),check-debug-steps); \
	want="host.tap plot.tap"; for f in $(FLAVOURS); do \
		kver=$$($(TOP)/vm-images/resolve-kver.sh $$f); \
		want="$$want build-$$kver.tap vm-$$kver.tap stress-$$kver.tap"; \
	done; \
	$(TOP)/tools/check-summary.sh $(RESULTS) $$want \
		$(if $(filter 1,$(CHECK_DEBUG)),$(DEBUG_WANT))

check-host:
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(TOP)/tools/run-host-tests.sh $(BUILD)/host $(RESULTS)/host.tap
	$(Q)$(TOP)/tools/test-plot.sh --tap $(RESULTS)/plot.tap

# Build the module for each kernel in its own copy of the tree (Kbuild builds
# in the source directory), with the DKMS command line, then check it.
check-modules:
	$(Q)mkdir -p $(RESULTS)
	$(Q)rc=0; for f in $(FLAVOURS); do \
		kver=$$($(TOP)/vm-images/resolve-kver.sh $$f) || exit 1; \
		kdir=$$($(TOP)/vm-images/fetch-headers.sh $$kver) || exit 1; \
		$(TOP)/tools/build-module.sh $$kver $$kdir $(BUILD)/kbuild/$$kver \
			$(RESULTS)/build-$$kver.tap || rc=1; \
	done; exit $$rc

check-vm: check-modules
	$(Q)rc=0; for f in $(FLAVOURS); do \
		kver=$$($(TOP)/vm-images/resolve-kver.sh $$f) || exit 1; \
		$(TOP)/vm-images/vm-test.sh --kver $$kver \
			--module $(BUILD)/kbuild/$$kver/mmlab.ko \
			--client $(BUILD)/kbuild/$$kver/mmlab_client/mmlab_client.ko \
			--log $(RESULTS)/vm-$$kver.log \
			> >(tee $(RESULTS)/vm-$$kver.tap) || rc=1; \
	done; exit $$rc

# ---------------------------------------------------------------------------
# The stress program (docs/stress.md): a 4-vCPU VM per kernel, fault
# injection on. `make check` runs it for CHECK_STRESS_SECONDS on FLAVOURS;
# `make stress` for STRESS_SECONDS on STRESS_FLAVOURS (PREEMPT_RT included),
# building the modules it needs. STRESS_SEED=S repeats a run's choices.

CHECK_STRESS_SECONDS ?= 30
STRESS_SECONDS ?= 60
STRESS_FLAVOURS ?= 6.1 6.12 6.12-rt
STRESS_SEED ?=

# stress_run <flavours> <seconds>
define stress_run
	$(Q)mkdir -p $(RESULTS)
	$(Q)rc=0; for f in $(1); do \
		kver=$$($(TOP)/vm-images/resolve-kver.sh $$f) || exit 1; \
		$(TOP)/vm-images/vm-stress.sh --kver $$kver \
			--module $(BUILD)/kbuild/$$kver/mmlab.ko \
			--client $(BUILD)/kbuild/$$kver/mmlab_client/mmlab_client.ko \
			--seconds $(2) $(if $(STRESS_SEED),--seed $(STRESS_SEED)) \
			--log $(RESULTS)/stress-$$kver.log \
			> >(tee $(RESULTS)/stress-$$kver.tap) || rc=1; \
	done; exit $$rc
endef

check-stress: check-modules
	$(call stress_run,$(FLAVOURS),$(CHECK_STRESS_SECONDS))

stress:
	$(Q)$(TOP)/tools/install-deps.sh --kernels "$(STRESS_FLAVOURS)"
	$(Q)mkdir -p $(RESULTS)
	$(Q)for f in $(STRESS_FLAVOURS); do \
		kver=$$($(TOP)/vm-images/resolve-kver.sh $$f) || exit 1; \
		kdir=$$($(TOP)/vm-images/fetch-headers.sh $$kver) || exit 1; \
		$(TOP)/tools/build-module.sh $$kver $$kdir $(BUILD)/kbuild/$$kver \
			$(RESULTS)/build-$$kver.tap >/dev/null || \
			{ cat $(RESULTS)/build-$$kver.tap; exit 1; }; \
	done
	$(call stress_run,$(STRESS_FLAVOURS),$(STRESS_SECONDS))

# ---------------------------------------------------------------------------
# make check-debug: the debug kernel (vm-images/build-debug-kernel.sh, cached
# by configuration hash in /var/cache/mmlab/debug-kernel/), mmlab built
# against it, boot 1 with every VM suite but kernel_checkers, boot 2 with
# kernel_checkers alone (its KASAN/kmemleak reports expected). Results in
# build/results-debug/, one summary line as check's; within `make check`
# (check-debug-steps, after check-vm) in build/results/ with the rest.
# docs/debug-kernel.md.

DEBUG_RESULTS := $(BUILD)/results-debug
DEBUG_WANT := build-debug.tap vm-debug.tap \
	$(if $(wildcard $(TOP)/selftests/mmlab/kernel_checkers.c),vm-debug-checkers.tap)

check-debug:
	$(Q)rm -rf $(DEBUG_RESULTS) && mkdir -p $(DEBUG_RESULTS)
	$(Q)$(TOP)/tools/check-debug.sh $(DEBUG_RESULTS); \
	$(TOP)/tools/check-summary.sh $(DEBUG_RESULTS) $(DEBUG_WANT)

check-debug-steps:
	$(Q)mkdir -p $(RESULTS)
	$(Q)$(TOP)/tools/check-debug.sh $(RESULTS)

# Without the kernel's Makefile: clean must not need (or fetch) headers.
clean:
	$(Q)find $(TOP)/module $(TOP)/cxxcore \( -name '*.o' -o -name '*.dwo' \
		-o -name '.*.cmd' -o -name '.*.d' \) -delete
	$(Q)rm -rf $(BUILD) $(TOP)/mmlab.ko $(TOP)/mmlab.mod $(TOP)/mmlab.mod.c \
		$(TOP)/Module.symvers $(TOP)/modules.order $(TOP)/.*.cmd $(TOP)/.tmp_versions
