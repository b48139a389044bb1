# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# One Makefile for everything; outputs go to build/. V=1 shows commands.

BUILD := build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Libraries, each found through pkg-config (scripts/deps.sh installs them).
LIBS_PKGS := libbpf libelf zlib libconfig jansson libevent libmnl
TEST_PKGS := cmocka
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PKGS) $(TEST_PKGS) 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PKGS) 2>/dev/null)
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARNINGS) -MMD -MP -Iinclude -Iagent -Itests/lib -I$(BUILD) $(PKG_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# BPF: UAPI headers only; asm/types.h lives in the multiarch directory on
# Debian unless gcc-multilib is installed.
ARCH_INCLUDE := /usr/include/$(shell $(CC) -dumpmachine)
# -mcpu=v3 (32-bit jumps and ALU, kernel 5.1+) gives shorter code than the
# default v1 on the per-packet path.
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Wextra -Werror -Wshadow -Wimplicit-fallthrough \
	-Wno-unused-parameter -Iinclude -Ibpf -I$(ARCH_INCLUDE) -MMD -MP

# floor and bench_wrap serve the benchmarks only.
BPF_PROGS := lb decap floor bench_wrap
BPF_OBJS := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))

# agent/ has a folder per program (its main.c and what only it links) and
# common/ for what more than one program links. The agent library: every
# agent/*/*.c but the main()s; each program links it, and so do the tests
# and benchmarks. Headers are included by folder: "common/log.h".
AGENT_MAINS := $(wildcard agent/*/main.c)
AGENT_SRCS := $(filter-out $(AGENT_MAINS),$(wildcard agent/*/*.c))
AGENT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(AGENT_SRCS))
AGENT_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(AGENT_SRCS))
LIBAGENT := $(BUILD)/libbouncer.a
LIBAGENT_SAN := $(BUILD)/libbouncer-san.a

# Shared test helpers (packet builder, ...), linked into every test.
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(TESTLIB_SRCS))

# Each tests/{unit,datapath}/test_*.c is one cmocka program.
TEST_SRCS := $(wildcard tests/unit/test_*.c tests/datapath/test_*.c)
TEST_BINS := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
# Each tests/live/*.c is a helper program the live scripts run.
LIVE_SRCS := $(wildcard tests/live/*.c)
LIVE_BINS := $(patsubst %.c,$(BUILD)/%,$(LIVE_SRCS))
# Each bench/bench_*.c is one benchmark program (no sanitizers).
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS))
# Programs: agent/DIR/main.c -> build/NAME, NAME being DIR but for decap/,
# which builds bouncer-decap.
program_name = $(if $(filter decap,$(1)),bouncer-decap,$(1))
PROG_DIRS := $(patsubst agent/%/main.c,%,$(AGENT_MAINS))
PROGS := $(foreach d,$(PROG_DIRS),$(BUILD)/$(call program_name,$(d)))

.DELETE_ON_ERROR:
# Keep objects that only serve as steps to a test or bench binary.
.SECONDARY:
.PHONY: print-programs all test test-all unit-test datapath-test live-test bench bench-e2e demo demo-run check format clean deps

all: $(BPF_OBJS) $(SKELS) $(LIBAGENT) $(PROGS) $(TEST_BINS) $(LIVE_BINS) $(BENCH_BINS)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/obj/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(LIBAGENT): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBAGENT_SAN): $(AGENT_SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

define program_rule
$(BUILD)/$(call program_name,$(1)): $(BUILD)/obj/agent/$(1)/main.o $(LIBAGENT)
	$$(call msg,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(CFLAGS) $$^ $$(LIBS) -o $$@
endef
$(foreach d,$(PROG_DIRS),$(eval $(call program_rule,$(d))))

# The programs' names, for scripts (vm/mkinitramfs).
print-programs:
	@echo $(notdir $(PROGS))

$(BUILD)/tests/%: $(BUILD)/san/tests/%.o $(TESTLIB_OBJS) $(LIBAGENT_SAN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBAGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -lm -o $@

# bench_datapath builds its frames with the tests' packet builder, compiled
# without sanitizers like the benchmark itself.
$(BUILD)/bench/bench_datapath: $(BUILD)/obj/tests/lib/pkt.o

# tests/run.sh runs each program under a time bound, counts the test cases
# and ends with "N passed, N failed, N skipped"; datapath and live need root.
LIVE_SCRIPTS := $(wildcard tests/live/*.sh)
RUN_TESTS := BUILD_DIR=$(BUILD) tests/run.sh

unit-test: $(filter $(BUILD)/tests/unit/%,$(TEST_BINS))
	$(Q)$(RUN_TESTS) unit $^

datapath-test: $(BPF_OBJS) $(filter $(BUILD)/tests/datapath/%,$(TEST_BINS))
	$(Q)$(RUN_TESTS) datapath $(filter $(BUILD)/tests/datapath/%,$^)

live-test: all
	$(Q)$(RUN_TESTS) live $(LIVE_SCRIPTS)

# make test (and make demo) are the README's front door: each installs
# what is missing first (scripts/deps.sh, a few dpkg queries when nothing
# is), then builds and runs in a new make, which finds the libraries just
# installed through pkg-config.
test:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory test-all

test-all: all
	$(Q)$(RUN_TESTS) all

bench: all
	$(Q)for b in $(BENCH_BINS); do $$b || exit 1; done
	$(Q)bench/bench_e2e.sh

# HTTP end to end: the example app behind Node's cluster module, nginx and
# bouncerd (bench/bench_e2e.sh; BENCH_E2E_* in its header tune it).
bench-e2e: $(PROGS)
	$(Q)bench/bench_e2e.sh

# A world of network namespaces, bouncerd with local workers and remote
# backends behind one VIP, under load; a worker killed, a backend stopped
# and back (scripts/demo.sh; root, about 25 s).
demo:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory demo-run

demo-run: $(PROGS)
	$(Q)BUILD_DIR=$(BUILD) scripts/demo.sh

# Static checks, on the files git tracks (a file not yet added is left
# alone); outside a git checkout, on what the globs find. wildcard drops
# tracked files deleted from the work tree.
TRACKED = $(or $(shell git ls-files 2>/dev/null),\
	$(filter-out $(BUILD)/%,$(wildcard * */* */*/* .ci/*)))
C_FILES = $(wildcard $(filter %.c %.h,$(TRACKED)))
# Shell: *.sh, and whatever in scripts/, .ci/ and vm/ starts with a shell
# shebang (.ci/run has no extension).
SH_FILES = $(wildcard $(sort $(filter %.sh,$(TRACKED)) \
	$(shell for f in $(filter scripts/% .ci/% vm/%,$(TRACKED)); do \
		head -n1 "$$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da)?sh( |$$)' && echo "$$f"; \
	done)))

# cppcheck reads no system header, so it takes libbpf's LIBBPF_OPTS() and
# SEC() for unknown macros and gives up on the file: include the libbpf
# headers that define them (macros only) ahead of each file.
LIBBPF_INCLUDE := $(shell $(PKG_CONFIG) --variable=includedir libbpf 2>/dev/null)
CPPCHECK_FLAGS := --quiet --error-exitcode=1 --enable=warning,performance,portability \
	--std=c11 --inline-suppr --template=gcc
# User space: posix.cfg teaches it open/close, opendir/closedir and the like
# for the leak checks. readdirCalled wants readdir_r, which glibc deprecates:
# readdir is safe on a stream of one's own.
CPPCHECK_USER_FLAGS := --library=posix --suppress=readdirCalled \
	--include=$(LIBBPF_INCLUDE)/bpf/libbpf_common.h -Iinclude -Iagent -Itests/lib
# BPF: arithmetic on void * is the GNU C that packet bounds checks are
# written in. bpf_helpers.h declares the helpers as function pointers, so
# cppcheck ties what bpf_map_lookup_elem() returns to the lifetime of the
# key on the stack: returnDanglingLifetime is wrong about every lookup.
CPPCHECK_BPF_FLAGS := --suppress=arithOperationsOnVoidPointer \
	--suppress=returnDanglingLifetime \
	--include=$(LIBBPF_INCLUDE)/bpf/bpf_helpers.h -Iinclude -Ibpf
CPPCHECK_USER_SRCS = $(filter agent/%.c tests/%.c bench/%.c,$(C_FILES))
CPPCHECK_BPF_SRCS = $(filter bpf/%.c,$(C_FILES))

# clang-tidy (checks in .clang-tidy) on the agent, one file per run: given
# several files, clang-tidy 14 reports in the later ones a va_list used
# without va_start that a run on the file alone does not. The compile
# flags are the agent's, less what only gcc or the build needs. libbpf's
# headers are not treated as system headers: the analyzer assumes that a
# function from a system header frees nothing, and so reports a leak on
# each failure path of a skeleton's open that bpf_object__destroy_skeleton()
# cleans up.
TIDY_SRCS = $(filter agent/%.c,$(C_FILES))
TIDY_TARGETS = $(addprefix tidy/,$(TIDY_SRCS))
TIDY_FLAGS = $(filter-out -MMD -MP -Werror -O% -g,$(CFLAGS)) -Wno-unknown-warning-option \
	--no-system-header-prefix=bpf/

.PHONY: check-format check-cppcheck check-tidy check-shell check-man $(TIDY_TARGETS)
check: check-format check-cppcheck check-tidy check-shell check-man

check-format:
	$(call msg,FORMAT,$(words $(C_FILES)) C files)
	$(Q)$(if $(C_FILES),clang-format --dry-run -Werror $(C_FILES))

# Not given build/: it cannot read the skeletons' long string of ELF bytes,
# and does without their types.
check-cppcheck:
	$(call msg,CPPCHECK,agent tests bench)
	$(Q)$(if $(CPPCHECK_USER_SRCS),cppcheck $(CPPCHECK_FLAGS) $(CPPCHECK_USER_FLAGS) \
		$(CPPCHECK_USER_SRCS))
	$(call msg,CPPCHECK,bpf)
	$(Q)$(if $(CPPCHECK_BPF_SRCS),cppcheck $(CPPCHECK_FLAGS) $(CPPCHECK_BPF_FLAGS) \
		$(CPPCHECK_BPF_SRCS))

check-tidy: $(TIDY_TARGETS)

# Without clang's "N warnings generated.", which counts what it hid in
# system headers.
$(TIDY_TARGETS): tidy/%: % $(wildcard .clang-tidy) $(SKELS)
	$(call msg,TIDY,$<)
	$(Q)out=$$(clang-tidy --quiet --warnings-as-errors='*' $< -- $(TIDY_FLAGS) 2>&1); rc=$$?; \
		printf '%s\n' "$$out" | grep -vE '^([0-9]+ warnings? generated\.)?$$' >&2; exit $$rc

check-shell:
	$(call msg,SHCHECK,$(words $(SH_FILES)) shell scripts)
	$(Q)$(if $(SH_FILES),shellcheck -x --source-path=SCRIPTDIR $(SH_FILES))

# Man pages must render without a single warning from man/groff.
MAN_PAGES := $(wildcard docs/man/*.[0-9])
check-man:
	$(call msg,MAN,$(words $(MAN_PAGES)) man pages)
	$(Q)for m in $(MAN_PAGES); do \
		w=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$$m" 2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "$$m: $$w"; exit 1; fi; \
	done

format:
	$(Q)clang-format -i $(C_FILES)

deps:
	$(Q)scripts/deps.sh

clean:
	$(Q)rm -rf $(BUILD)

# ---- VM ----
# make vm-test boots Debian's 6.1 kernel under QEMU and runs the datapath
# and live suites inside it (vm/run; README, "Tests in a VM"). The guest
# gets the test programs built without sanitizers, which cost a lot under
# emulation and have been run on the host already, laid out in
# $(VM_BIN) as they are in $(BUILD). They are linked against the same shared
# libraries as the host build (Debian has no libcmocka.a); vm/mkinitramfs
# copies the libraries into the guest.
VM_BIN := $(BUILD)/vm/bin
VM_TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TESTLIB_SRCS))
VM_TEST_BINS := $(patsubst $(BUILD)/%,$(VM_BIN)/%,$(TEST_BINS) $(LIVE_BINS))
# What vm/run puts in the guest besides the scripts.
VM_BINS := $(VM_TEST_BINS) $(PROGS)

.PHONY: vm-bins vm-test vm-test-all vm-nic-test vm-shell

$(VM_BIN)/tests/%: $(BUILD)/obj/tests/%.o $(VM_TESTLIB_OBJS) $(LIBAGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

vm-bins: $(VM_BINS)

# VM_ARGS: more options and the tests for vm/run, e.g.
# VM_ARGS='--kernel linux-image-amd64 datapath'.
VM_ARGS ?=
# Then the virtio NIC test (vm-nic-test, below), where root can build its
# namespaces: a few minutes more under TCG.
vm-test: vm-bins
	$(Q)vm/run --no-build $(VM_ARGS)
	$(Q)if [ "$$(id -u)" -eq 0 ]; then vm/nic-test; \
	else echo "vm-test: vm-nic-test left out: it needs root (namespaces, a tap device)"; fi

# Every live suite, the slow ones under emulation included (vm/run's
# SKIP_TESTS default names them, and why): for a kernel change, not for
# each CI run.
# Under TCG agent.sh alone took over 15 minutes on a busy machine: each
# program gets 45 and the whole run 2 hours.
vm-test-all: vm-bins
	$(Q)SKIP_TESTS= TEST_TIMEOUT=$${TEST_TIMEOUT:-2700} vm/run --no-build --timeout 7200 $(VM_ARGS)

# bouncer in the guest, native XDP on its virtio-net NIC, with a client
# and backends in host namespaces (vm/nic-test).
vm-nic-test: vm-bins
	$(Q)vm/nic-test $(VM_ARGS)

vm-shell: vm-bins
	$(Q)vm/run --no-build --shell $(VM_ARGS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
