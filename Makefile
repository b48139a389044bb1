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
LIBS_PKGS := libbpf libelf zlib
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
BPF_CFLAGS := -O2 -g -target bpf -Wall -Wextra -Werror -Wshadow -Wimplicit-fallthrough \
	-Wno-unused-parameter -Iinclude -Ibpf -I$(ARCH_INCLUDE) -MMD -MP

# floor is the benchmarks' baseline program.
BPF_PROGS := lb decap floor
BPF_OBJS := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
SKELS := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))

# The agent library: every agent/*.c except programs with a main().
AGENT_MAINS := $(wildcard agent/main_*.c)
AGENT_SRCS := $(filter-out $(AGENT_MAINS),$(wildcard agent/*.c))
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
# Programs: agent/main_NAME.c -> build/NAME
PROGS := $(patsubst agent/main_%.c,$(BUILD)/%,$(AGENT_MAINS))

.DELETE_ON_ERROR:
# Keep objects that only serve as steps to a test or bench binary.
.SECONDARY:
.PHONY: all test unit-test datapath-test live-test bench check format clean deps

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

$(BUILD)/%: $(BUILD)/obj/agent/main_%.o $(LIBAGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/san/tests/%.o $(TESTLIB_OBJS) $(LIBAGENT_SAN)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBAGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -lm -o $@

unit-test: $(filter $(BUILD)/tests/unit/%,$(TEST_BINS))
	$(Q)tests/run.sh unit $^

datapath-test: $(BPF_OBJS) $(filter $(BUILD)/tests/datapath/%,$(TEST_BINS))
	$(Q)tests/run.sh datapath $(filter $(BUILD)/tests/datapath/%,$^)

live-test: all
	$(Q)tests/run.sh live tests/live/*.sh

test: all
	$(Q)tests/run.sh all

bench: all
	$(Q)for b in $(BENCH_BINS); do $$b || exit 1; done

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
SH_FILES = $(shell git ls-files '*.sh' 'scripts/*' '.ci/*' 2>/dev/null)

check:
	$(call msg,FORMAT,all C files)
	$(Q)clang-format --dry-run -Werror $(C_FILES)
	$(call msg,CPPCHECK,agent tests bench)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -Iinclude -Iagent \
		agent tests bench
	$(call msg,SHCHECK,$(SH_FILES))
	$(Q)shellcheck $(SH_FILES)

format:
	$(Q)clang-format -i $(C_FILES)

deps:
	$(Q)scripts/deps.sh

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
