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

# The release, and the commit it is built from (git describe; empty
# outside a git checkout): --version prints both.
VERSION := 0.1.0
# make deb passes it on to the package's build, from a copy of the tree.
GIT_DESCRIBE ?= $(shell git -C $(CURDIR) describe --always --dirty 2>/dev/null)

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
.PHONY: FORCE programs print-programs install uninstall all test test-all unit-test datapath-test live-test bench bench-e2e demo demo-run check format clean deps

# bouncerctl's bash completion, made from its grammar (bouncerctl
# --completion bash). Tracked in git, so that an install from the tree has
# it without running a build; tests/live/completion.sh checks it is current.
COMPLETION := dist/bouncerctl.bash-completion

all: $(BPF_OBJS) $(SKELS) $(LIBAGENT) $(PROGS) $(TEST_BINS) $(LIVE_BINS) $(BENCH_BINS) $(COMPLETION)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# The status page's HTML, script and style, built into the agent as byte
# arrays (status_page.c includes the header; scripts/embed.sh).
STATUS_ASSETS := $(addprefix agent/bouncerd/status_page.,html js css)
$(BUILD)/status_assets.h: $(STATUS_ASSETS) scripts/embed.sh
	$(call msg,EMBED,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scripts/embed.sh $@ $(foreach f,$(STATUS_ASSETS),status_page_$(subst .,,$(suffix $(f))) $(f))
$(BUILD)/obj/agent/bouncerd/status_page.o $(BUILD)/san/agent/bouncerd/status_page.o \
	tidy/agent/bouncerd/status_page.c: $(BUILD)/status_assets.h

$(BUILD)/obj/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

# Rewritten only when its text changes: a new commit recompiles
# version.c alone, and an unchanged tree nothing. The temporary file is
# this make's own: CI runs make test and make vm-test at once, and both
# come here.
VERSION_H := $(BUILD)/version_build.h
$(VERSION_H): FORCE
	$(Q)mkdir -p $(@D)
	$(Q)tmp=$@.tmp.$$$$; \
		printf '#define BOUNCER_VERSION "%s"\n#define BOUNCER_GIT "%s"\n' \
		'$(VERSION)' '$(GIT_DESCRIBE)' >$$tmp && \
		if cmp -s $$tmp $@; then rm -f $$tmp; else mv -f $$tmp $@; fi
$(BUILD)/obj/agent/common/version.o $(BUILD)/san/agent/common/version.o: $(VERSION_H)
FORCE:

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
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ $$(LIBS) -o $$@
endef
$(foreach d,$(PROG_DIRS),$(eval $(call program_rule,$(d))))

$(COMPLETION): $(BUILD)/bouncerctl
	$(call msg,GEN,$@)
	$(Q)$< --completion bash > $@.tmp && mv $@.tmp $@

# The programs alone, without the tests (what a package builds).
programs: $(PROGS)

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

# The benchmarks that send frames build them with the tests' packet
# builder, compiled without sanitizers like the benchmarks themselves.
$(BUILD)/bench/bench_datapath $(BUILD)/bench/bench_flows $(BUILD)/bench/bench_decap: $(BUILD)/obj/tests/lib/pkt.o
# Those that run the bench_wrap programs share their loader.
$(BUILD)/bench/bench_datapath $(BUILD)/bench/bench_flows: $(BUILD)/obj/bench/wrap.o

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

.PHONY: check-format check-cppcheck check-tidy check-shell check-man check-rules check-unit $(TIDY_TARGETS)
check: check-format check-cppcheck check-tidy check-shell check-man check-rules check-unit

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
$(TIDY_TARGETS): tidy/%: % $(wildcard .clang-tidy) $(SKELS) $(VERSION_H)
	$(call msg,TIDY,$<)
	$(Q)out=$$(clang-tidy --quiet --warnings-as-errors='*' $< -- $(TIDY_FLAGS) 2>&1); rc=$$?; \
		printf '%s\n' "$$out" | grep -vE '^([0-9]+ warnings? generated\.)?$$' >&2; exit $$rc

check-shell:
	$(call msg,SHCHECK,$(words $(SH_FILES)) shell scripts)
	$(Q)$(if $(SH_FILES),shellcheck -x --source-path=SCRIPTDIR $(SH_FILES))

# Man pages must render without a single warning from man/groff, and pass
# mandoc's lint, style messages included.
MAN_PAGES := $(wildcard docs/man/*.[0-9])
check-man:
	$(call msg,MAN,$(words $(MAN_PAGES)) man pages)
	$(Q)for m in $(MAN_PAGES); do \
		w=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$$m" 2>&1 >/dev/null); \
		if [ -n "$$w" ]; then echo "$$m: $$w"; exit 1; fi; \
		w=$$(mandoc -Tlint "$$m" 2>&1); \
		if [ -n "$$w" ]; then echo "$$w"; exit 1; fi; \
	done

# Prometheus alerting rules: promtool (Debian's prometheus package) parses
# them and checks their expressions; tests/live/alerts.sh unit-tests them.
RULE_FILES = $(filter examples/prometheus/%.yml,$(TRACKED))
check-rules:
	$(call msg,PROMTOOL,$(words $(RULE_FILES)) rule files)
	$(Q)$(if $(RULE_FILES),promtool check rules $(RULE_FILES) >/dev/null)

# The unit as make install writes it: systemd-analyze verify finds every
# command it names, and security rates its exposure at most
# UNIT_EXPOSURE_MAX (0 safe .. 10 exposed; Debian's haproxy unit: 9.6).
UNIT_EXPOSURE_MAX := 5.0
CHECK_ROOT := $(BUILD)/check-install
check-unit: $(PROGS)
	$(call msg,UNIT,bouncerd.service)
	$(Q)rm -rf $(CHECK_ROOT)
	$(Q)$(MAKE) --no-print-directory -s install DESTDIR=$(abspath $(CHECK_ROOT)) PREFIX=/usr \
		UNITDIR=/lib/systemd/system >/dev/null
	$(Q)scripts/check-unit.sh $(CHECK_ROOT) bouncerd.service $(UNIT_EXPOSURE_MAX)

format:
	$(Q)clang-format -i $(C_FILES)

deps:
	$(Q)scripts/deps.sh

# ---- Install ----
# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, the man
# pages, the systemd unit written for PREFIX, bash completion (when
# dist/ has it), the docs, and the example config as
# SYSCONFDIR/bouncer/bouncer.conf unless one is there already.
# make uninstall removes all of it but the config.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/bouncer
SYSCONFDIR ?= /etc
# systemd reads units from /usr/local/lib/systemd/system as well as from
# /lib/systemd/system, where a Debian 12 package puts them.
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
BASH_COMPLETION := $(wildcard dist/bouncerctl.bash-completion)
DOCS := README.md $(wildcard docs/*.md)
INSTALL ?= install

install: $(PROGS)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR)
	$(Q)$(INSTALL) -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)/
	$(Q)for m in $(MAN_PAGES); do \
		s=$${m##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s && \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done
	$(Q)$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/bouncerd.service.in >$(DESTDIR)$(UNITDIR)/bouncerd.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/bouncerd.service
	$(Q)$(if $(BASH_COMPLETION),$(INSTALL) -D -m 0644 $(BASH_COMPLETION) \
		$(DESTDIR)$(BASHCOMPDIR)/bouncerctl)
	$(Q)$(INSTALL) -d $(DESTDIR)$(DOCDIR)
	$(Q)$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/bouncer
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/bouncer/bouncer.conf ]; then \
		echo "  kept     $(DESTDIR)$(SYSCONFDIR)/bouncer/bouncer.conf (exists)"; \
	else \
		$(INSTALL) -m 0644 examples/bouncer.conf $(DESTDIR)$(SYSCONFDIR)/bouncer/bouncer.conf; \
	fi

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(PROGS)))
	$(Q)for m in $(MAN_PAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	$(Q)rm -f $(DESTDIR)$(UNITDIR)/bouncerd.service $(DESTDIR)$(BASHCOMPDIR)/bouncerctl
	$(Q)rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	$(Q)rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/bouncer/bouncer.conf ]; then \
		echo "  kept     $(DESTDIR)$(SYSCONFDIR)/bouncer/bouncer.conf (the config is yours)"; \
	fi

clean:
	$(Q)rm -rf $(BUILD)

# ---- Debian package ----
# make deb: bouncer_VERSION_ARCH.deb in $(DEB_DIR), built by
# dpkg-buildpackage (debhelper; debian/rules runs make install) from a
# copy of the tree, so that its by-products stay in build/, then checked
# by lintian (no error allowed). make deb-test installs it in a chroot
# that holds its declared dependencies and nothing else
# (scripts/deb-test.sh).
DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/bouncer-$(VERSION)
.PHONY: deb deb-test
deb:
	$(call msg,DEB,$(DEB_DIR))
	$(Q)cl=$$(dpkg-parsechangelog -S Version); [ "$$cl" = "$(VERSION)" ] || \
		{ echo "debian/changelog is at $$cl, the Makefile's VERSION at $(VERSION)" >&2; exit 1; }
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	$(Q)tar --exclude=./$(BUILD) --exclude=./.git -cf - . | tar -C $(DEB_SRC) -xf -
	$(Q)cd $(DEB_SRC) && GIT_DESCRIBE='$(GIT_DESCRIBE)' dpkg-buildpackage -b -us -uc \
		>../build.log 2>&1 || { tail -40 ../build.log >&2; exit 1; }
	$(call msg,LINTIAN,$(DEB_DIR)/bouncer_$(VERSION)_*.deb)
	$(Q)rc=0; lintian --fail-on error $(DEB_DIR)/bouncer_$(VERSION)_*.deb \
		>$(DEB_DIR)/lintian.log 2>&1 || rc=$$?; \
		grep -v '^running with root privileges' $(DEB_DIR)/lintian.log; exit $$rc

deb-test: deb
	$(Q)scripts/deb-test.sh $(DEB_DIR)/bouncer_$(VERSION)_*.deb

# ---- VM ----
# make vm-test boots Debian's 6.1 kernel under QEMU and runs the datapath
# and live suites inside it (vm/run; README, "Tests in a VM"). The guest
# gets the test programs built without sanitizers, which cost a lot under
# emulation and have been run on the host already, laid out in
# $(VM_BIN) as they are in $(BUILD). They are linked against the same shared
# libraries as the host build (Debian has no libcmocka.a), which the guest
# finds in the host's /usr (vm/init mounts it).
VM_BIN := $(BUILD)/vm/bin
VM_TESTLIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TESTLIB_SRCS))
VM_TEST_BINS := $(patsubst $(BUILD)/%,$(VM_BIN)/%,$(TEST_BINS) $(LIVE_BINS))
# What vm/run puts in the guest besides the scripts.
VM_BINS := $(VM_TEST_BINS) $(PROGS)

.PHONY: vm-bins vm-test vm-nic-test vm-shell

$(VM_BIN)/tests/%: $(BUILD)/obj/tests/%.o $(VM_TESTLIB_OBJS) $(LIBAGENT)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) $(TEST_LIBS) -o $@

vm-bins: $(VM_BINS)

# VM_ARGS: more options and the tests for vm/run, e.g.
# VM_ARGS='--kernel linux-image-6.1.0-57-amd64 datapath'.
VM_ARGS ?=
# Every suite: most of an hour under TCG on two cores. Then the virtio NIC
# test (vm-nic-test, below), where root can build its namespaces: a minute
# more.
vm-test: vm-bins
	$(Q)vm/run --no-build $(VM_ARGS)
	$(Q)if [ "$$(id -u)" -eq 0 ]; then vm/nic-test; \
	else echo "vm-test: vm-nic-test left out: it needs root (namespaces, a tap device)"; fi

# bouncer in the guest, native XDP on its virtio-net NIC, with a client
# and backends in host namespaces (vm/nic-test).
vm-nic-test: vm-bins
	$(Q)vm/nic-test $(VM_ARGS)

vm-shell: vm-bins
	$(Q)vm/run --no-build --shell $(VM_ARGS)

# make vm-systemd: the package's unit run by systemd as PID 1 in the
# guest (vm/systemd-test): start, reload, a broken reload, kill -9 of the
# agent and its restart adopting the workers, stop. Several minutes under
# TCG: not part of vm-test.
.PHONY: vm-systemd
vm-systemd: deb
	$(Q)vm/run --systemd $$(ls $(DEB_DIR)/bouncer_$(VERSION)_*.deb) --timeout 900 $(VM_ARGS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
