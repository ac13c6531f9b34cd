# twopc - top-level build. Everything is built under $(BUILD) (default build/).
#
#   make            what make install installs: libraries, daemons, driver
#   make tests      the test programs (twopc-tests, twopc-crashtest)
#   make test       every test suite (CUnit), the man-page lint and the model check
#   make demo       a local cluster and real transactions, explained
#   make asan       the same test suite built with ASan+UBSan (in build/asan)
#   make install    PREFIX=/usr/local DESTDIR= UNITDIR=$(PREFIX)/lib/systemd/system
#   make uninstall  PREFIX=/usr/local DESTDIR= (removes what install installed)
#   make clean
#
# CFLAGS, CPPFLAGS and LDFLAGS given on the command line or in the
# environment are added after the flags the build needs (standard, warnings,
# -fPIC, hidden visibility, hardening), never instead of them.
#
# Missing Debian packages are installed by the targets when run as root,
# otherwise the exact command is printed (see deps).

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
UNITDIR ?= $(PREFIX)/lib/systemd/system
SAN     ?=
OPT     ?= -O2 -g
CFLAGS  ?=
CPPFLAGS ?=
LDFLAGS ?=
VERSION = 0.1.0

# Required flags. Hidden by default: the shared libraries export only what
# TWOPC_API marks; -fPIC because the library objects are also linked into
# the executables (as PIE).
TWOPC_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -fvisibility=hidden \
                -fstack-protector-strong
# _FORTIFY_SOURCE needs an optimizing build (glibc warns otherwise, and
# -Werror makes that an error) and is left out under the sanitizers, whose
# interceptors it would bypass.
TWOPC_OPTLEVEL = $(lastword $(filter -O%,$(OPT) $(EXTRA_CFLAGS) $(CFLAGS)))
TWOPC_FORTIFY = $(if $(SAN),,$(if $(filter-out -O0,$(TWOPC_OPTLEVEL)),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2))
TWOPC_ALL_CFLAGS = $(TWOPC_CFLAGS) $(OPT) $(TWOPC_FORTIFY) $(SAN) $(EXTRA_CFLAGS) $(CFLAGS)
TWOPC_LDFLAGS := -Wl,-z,relro,-z,now
TWOPC_ALL_LDFLAGS = $(TWOPC_LDFLAGS) $(SAN) $(LDFLAGS)
TWOPC_EXE_LDFLAGS = -pie $(TWOPC_ALL_LDFLAGS)
# Debian's libnng-dev has no pkg-config file: link it directly.
LIBS    = -lnng -lmbedx509 -lmbedcrypto -lsodium -lsqlite3 -lyaml -lpthread
# Only the daemons' main()s talk to systemd (common/notify.c): the
# libraries must not, an embedding program owns its notify socket.
DAEMON_LIBS = -lsystemd
# Every program's --version (common/version.h).
TWOPC_DEFS = -DTWOPC_PKG_VERSION='"$(VERSION)"'

# ---- include paths: what each part may include ----
# Every object gets only the folders of the layers below it, so including a
# header of a layer above (or beside) fails to compile. A quoted include
# still finds the including file's own folder.
#   common/        itself; common/include holds twopc/error.h, the error
#                  codes every layer and both public APIs share
#   config/        + common
#   participant/   + its public header, config, common (library, daemon, kv)
#   coordinator/   the daemon: + config, common; not the client API
#   client.c       the client library: its public header, config, common
#   driver         the twopc command: the client API and common only
#   tests/         white-box: everything
INC_COMMON = -Icommon -Icommon/include
INC_CONFIG = -Iconfig $(INC_COMMON)
INC_PART   = -Iparticipant -Iparticipant/include $(INC_CONFIG)
INC_COORD  = -Icoordinator $(INC_CONFIG)
INC_CLIENT = -Icoordinator/include $(INC_CONFIG)
INC_DRIVER = -Icoordinator/include $(INC_COMMON)
INC_TESTS  = -Itests -Iparticipant -Iparticipant/include -Icoordinator -Icoordinator/include $(INC_CONFIG)

PKGS      = libnng-dev libmbedtls-dev libsodium-dev libsqlite3-dev libyaml-dev libsystemd-dev
TEST_PKGS = libcunit1-dev mandoc spin sqlite3 pkg-config openssl chromium gdb

COMMON_SRC = common/err.c common/txstate.c common/wire.c common/tlog.c common/db.c common/dbsync.c common/dbgroup.c common/dbtx.c \
             common/wiredec.c common/crash.c common/loglock.c common/rpc.c common/rpcsrv.c common/rpchandle.c common/rpcslot.c \
             common/rpcbase.c common/rpcbatch.c common/rpccall.c common/rpcchan.c common/fdetect.c \
             common/mclock.c common/tmr.c common/walbuf.c common/statlist.c \
             common/heur.c common/daemon.c common/serve.c common/runstate.c config/config.c config/cfgvalue.c \
             config/cfgtree.c config/cfgbuild.c config/cfgtls.c common/rpctls.c config/cfgpath.c \
             common/netprobe.c common/tlimit.c config/cfgreload.c common/rpcauth.c config/cfgrole.c \
             common/httpd.c common/histo.c
# The test hooks (crash points and the fault VFS armed from the
# environment): linked into the daemons and the tests, never into a library.
HOOK_SRC   = common/testhook.c common/faultvfs.c common/faultdisk.c
# systemd's notification protocol: the daemons' main()s only.
NOTIFY_SRC = common/notify.c
PART_SRC   = participant/ptxn.c participant/part.c participant/pdecide.c participant/pvote.c \
             participant/pterm.c participant/presolve.c participant/pstatus.c participant/precover.c \
             participant/pserve.c participant/plog.c participant/preload.c participant/prole.c \
             participant/phttp.c
KV_SRC     = participant/kv.c
COORD_SRC  = coordinator/clog.c coordinator/ctxn.c coordinator/crun.c coordinator/cepoch.c coordinator/cflow.c coordinator/cinquire.c \
             coordinator/cviol.c coordinator/cforget.c coordinator/cdeliver.c coordinator/cdecide.c \
             coordinator/conephase.c coordinator/cwait.c coordinator/cvote.c coordinator/csubmit.c \
             coordinator/crecover.c coordinator/cresend.c coordinator/cresolve.c coordinator/cserve.c \
             coordinator/coord.c coordinator/creload.c coordinator/chttp.c
CLIENT_SRC = coordinator/client.c
DRIVER_SRC = coordinator/driver.c coordinator/dcli.c coordinator/dlist.c coordinator/bench.c coordinator/dresolve.c coordinator/djson.c
TEST_SRC   = $(wildcard tests/test_*.c) tests/main.c tests/harness.c tests/checker.c tests/testutil.c
CRASH_SRC  = tests/crashtest.c tests/harness.c tests/checker.c tests/stall.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_OBJ = $(call obj,$(COMMON_SRC))
HOOK_OBJ   = $(call obj,$(HOOK_SRC))
NOTIFY_OBJ = $(call obj,$(NOTIFY_SRC))
PART_OBJ   = $(call obj,$(PART_SRC))
KV_OBJ     = $(call obj,$(KV_SRC))
COORD_OBJ  = $(call obj,$(COORD_SRC))
CLIENT_OBJ = $(call obj,$(CLIENT_SRC))
DRIVER_OBJ = $(call obj,$(DRIVER_SRC))
TEST_OBJ   = $(call obj,$(TEST_SRC))
CRASH_OBJ  = $(call obj,$(CRASH_SRC))
HOOKCTOR_OBJ = $(call obj,tests/hookctor.c)

BINS = $(BUILD)/twopc-coordinator $(BUILD)/twopc-participant $(BUILD)/twopc
LIBS_OUT = $(BUILD)/libtwopc-common.a $(BUILD)/libtwopc-participant.a \
           $(BUILD)/libtwopc-participant.so.0 $(BUILD)/libtwopc-client.a \
           $(BUILD)/libtwopc-client.so.0 $(BUILD)/twopc-participant.pc $(BUILD)/twopc-client.pc
FUZZ_REPLAY = $(BUILD)/twopc-fuzz-wire-replay $(BUILD)/twopc-fuzz-config-replay
TEST_BINS = $(BUILD)/twopc-tests $(BUILD)/twopc-crashtest $(BUILD)/libtwopc-testhook.a $(HOOKCTOR_OBJ) \
            $(FUZZ_REPLAY)

# Public headers, installed as $(PREFIX)/include/twopc/NAME.h: each beside
# its library (error.h beside the code below both libraries).
PUBLIC_H = participant/include/twopc/participant.h coordinator/include/twopc/client.h \
           common/include/twopc/error.h
MAN_PAGES = $(wildcard man/*.[13578])

DEPS_STAMP = $(BUILD)/.deps-ok
TEST_DEPS_STAMP = $(BUILD)/.test-deps-ok

.PHONY: all tests test demo asan install uninstall clean deps test-deps model lint-man check-unit \
        crashtest bugs bug-check fuzz fuzz-corpus
all: $(DEPS_STAMP) $(LIBS_OUT) $(BINS)
tests: $(TEST_BINS)

# ---- dependencies ----
define ensure_pkgs
	@missing=""; \
	for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing missing packages:$$missing"; \
	    { [ -f $(BUILD)/.apt-updated ] || { apt-get update -qq && touch $(BUILD)/.apt-updated; }; } && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "twopc needs:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

$(DEPS_STAMP):
	@mkdir -p $(BUILD)
	$(call ensure_pkgs,$(PKGS))
	@touch $@

$(TEST_DEPS_STAMP): $(DEPS_STAMP)
	$(call ensure_pkgs,$(TEST_PKGS))
	@touch $@

deps: $(DEPS_STAMP)
test-deps: $(TEST_DEPS_STAMP)

# ---- compile ----
# The stamps are order-only: they must exist before anything compiles
# (the headers come from the packages), but a newer stamp rebuilds nothing.
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TWOPC_INC) $(TWOPC_DEFS) $(CPPFLAGS) $(TWOPC_ALL_CFLAGS) -MMD -MP -c $< -o $@

# Every test object waits for the test packages (CUnit's headers); the
# crash harness needs none of them (make install builds it).
$(filter-out $(CRASH_OBJ),$(TEST_OBJ)) $(HOOKCTOR_OBJ): | $(TEST_DEPS_STAMP)

$(BUILD)/obj/common/%.o: TWOPC_INC = $(INC_COMMON)
$(BUILD)/obj/config/%.o: TWOPC_INC = $(INC_CONFIG)
$(BUILD)/obj/participant/%.o: TWOPC_INC = $(INC_PART)
$(BUILD)/obj/coordinator/%.o: TWOPC_INC = $(INC_COORD)
$(BUILD)/obj/tests/%.o: TWOPC_INC = $(INC_TESTS)
$(CLIENT_OBJ): TWOPC_INC = $(INC_CLIENT)
$(DRIVER_OBJ): TWOPC_INC = $(INC_DRIVER)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

$(BUILD)/libtwopc-common.a: $(COMMON_OBJ)
	ar rcs $@ $^

$(BUILD)/libtwopc-participant.a: $(PART_OBJ) $(COMMON_OBJ)
	ar rcs $@ $^

$(BUILD)/libtwopc-participant.so.0: $(PART_OBJ) $(COMMON_OBJ)
	$(CC) -shared -Wl,-soname,libtwopc-participant.so.0 -Wl,--no-undefined $(TWOPC_ALL_LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libtwopc-participant.so.0 $(BUILD)/libtwopc-participant.so

$(BUILD)/libtwopc-client.so.0: $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) -shared -Wl,-soname,libtwopc-client.so.0 -Wl,--no-undefined $(TWOPC_ALL_LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libtwopc-client.so.0 $(BUILD)/libtwopc-client.so

$(BUILD)/%.pc: participant/%.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/%.pc: coordinator/%.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/libtwopc-client.a: $(CLIENT_OBJ) $(COMMON_OBJ)
	ar rcs $@ $^

# Not installed: what a test build of a library program links to honour
# TWOPC_CRASH_AT, TWOPC_PAUSE_AT and TWOPC_FAULT_VFS (with tests/hookctor.o).
$(BUILD)/libtwopc-testhook.a: $(HOOK_OBJ)
	ar rcs $@ $^

$(BUILD)/twopc-participant: $(call obj,participant/main.c) $(KV_OBJ) $(HOOK_OBJ) $(NOTIFY_OBJ) \
                           $(BUILD)/libtwopc-participant.a
	$(CC) $(TWOPC_EXE_LDFLAGS) -o $@ $^ $(LIBS) $(DAEMON_LIBS)

$(BUILD)/twopc-coordinator: $(call obj,coordinator/cmain.c) $(COORD_OBJ) $(HOOK_OBJ) $(NOTIFY_OBJ) \
                            $(BUILD)/libtwopc-common.a
	$(CC) $(TWOPC_EXE_LDFLAGS) -o $@ $^ $(LIBS) $(DAEMON_LIBS)

$(BUILD)/twopc: $(DRIVER_OBJ) $(BUILD)/libtwopc-client.a
	$(CC) $(TWOPC_EXE_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/twopc-tests: $(TEST_OBJ) $(PART_OBJ) $(KV_OBJ) $(COORD_OBJ) $(CLIENT_OBJ) $(COMMON_OBJ) $(HOOK_OBJ) \
                      | $(TEST_DEPS_STAMP)
	$(CC) $(TWOPC_EXE_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS) -lcunit

$(BUILD)/twopc-crashtest: $(CRASH_OBJ) $(BUILD)/libtwopc-client.a
	$(CC) $(TWOPC_EXE_LDFLAGS) -o $@ $^ $(LIBS)

# ---- tests ----
# Every step runs, whatever the one before it said, through tests/step.sh
# (which records it in TEST_LOG); the run ends with tests/verdict.sh's one
# line "make test: N passed, M failed" (CUnit tests, crash-harness cases,
# bug variants caught, library cases, model checks, the man-page lint)
# and fails if M > 0. A run that must find failures (a bug variant) shows
# its lines as "  [expected] ...". About 9 minutes on two cores.
TEST_LOG = $(abspath $(BUILD))/test.log
STEP = bash tests/step.sh $(TEST_LOG)
CRASHTEST = $(TEST_RUNNER) $(BUILD)/twopc-crashtest --build $(abspath $(BUILD))
# "-" inside make test: a failed step is counted, the next one still runs.
KEEP_GOING ?=
test: all tests
	@rm -f $(TEST_LOG) $(TEST_LOG).lock
	-@$(STEP) lint-man -- $(MAKE) --no-print-directory lint-man
	-@$(STEP) layering -- bash tests/cycles.sh $(BUILD)
	-@$(STEP) sanitizer-verdict -- sh tests/sanitizer-check.sh
	-@$(STEP) verdict-check -- sh tests/verdict-check.sh
	-@$(MAKE) --no-print-directory -j2 cunit-1 cunit-2 KEEP_GOING=-
	-@$(STEP) fuzz-replay -- $(TEST_RUNNER) $(BUILD)/twopc-fuzz-wire-replay tests/fuzz/corpus/wire
	-@$(STEP) fuzz-replay-config -- $(TEST_RUNNER) $(BUILD)/twopc-fuzz-config-replay tests/fuzz/corpus/config
	-@$(MAKE) --no-print-directory -j3 crash-1 crash-2 model-step KEEP_GOING=-
	-@$(MAKE) --no-print-directory -j3 bug-check-1 bug-check-2 library-step KEEP_GOING=- || \
	  echo 'step: bug-check/library build exit 1' >>$(TEST_LOG)
	@bash tests/verdict.sh $(TEST_LOG)

# The CUnit suites in two processes side by side (their daemons mostly
# wait on timeouts and the disk; ports come from each process's pid).
CUNIT_1 = config wire logs integration faultvfs honest batch abuse http
CUNIT_2 = termination library fence resolve tls ops reload attack
CUNIT = env TWOPC_SRCDIR=$(CURDIR) TWOPC_BUILD=$(abspath $(BUILD)) $(TEST_RUNNER) $(BUILD)/twopc-tests
.PHONY: cunit-1 cunit-2
cunit-1:
	$(KEEP_GOING)@$(STEP) cunit-1 -- $(CUNIT) $(CUNIT_1)
cunit-2:
	$(KEEP_GOING)@$(STEP) cunit-2 -- $(CUNIT) $(CUNIT_2)

# The crash harness's runs in two lists side by side, each about half of
# the time (about 2 minutes on two cores), beside the model check (one
# CPU-bound SPIN process, about as long): each cluster's daemons wait
# mostly on timeouts and the disk, and its ports come from its pid.
.PHONY: crash-1 crash-2
crash-1:
	$(KEEP_GOING)@$(STEP) matrix -- $(CRASHTEST) matrix
	$(KEEP_GOING)@$(STEP) powerloss -- $(CRASHTEST) powerloss --cycles 70 --clients 12 --seed 1
	$(KEEP_GOING)@$(STEP) coordinator-lost -- $(CRASHTEST) coordinator-lost --repeat 4
	$(KEEP_GOING)@$(STEP) doublestart -- $(CRASHTEST) doublestart --cycles 20 --seed 1
crash-2:
	$(KEEP_GOING)@$(STEP) ioerror -- $(CRASHTEST) ioerror
	$(KEEP_GOING)@$(STEP) powerloss-normal --expected -- $(CRASHTEST) --expect-violations powerloss --durability normal --cycles 20 --seed 1
	$(KEEP_GOING)@$(STEP) random -- $(CRASHTEST) random --cycles 120 --clients 16 --seed 1

# Then the bug variants' crash runs (two lists) beside the library's
# cases, all of which wait mostly on the disk and on timeouts.
.PHONY: library-step model-step
library-step:
	$(KEEP_GOING)@$(STEP) library -- $(MAKE) --no-print-directory test-library
model-step:
	$(KEEP_GOING)@$(STEP) model -- $(MAKE) --no-print-directory model-quick

# Test-only variants with a known protocol bug (built with -DTWOPC_BUG_x):
# the crash harness must report violations for each (make test checks it).
BUGS = GLOBAL_BEFORE_DECISION NO_LOCKS LAZY_READY NO_LOG_LOCK GROUP_LAZY RESTART_ABORTS BUSY_AS_YES \
       RESULT_BEFORE_WAIT BATCH_ORDER
bugs:
	@for b in $(BUGS); do \
	  $(MAKE) --no-print-directory -j2 BUILD=$(BUILD)/bugs/$$b EXTRA_CFLAGS="-DTWOPC_BUG_$$b" \
	    $(BUILD)/bugs/$$b/twopc-coordinator $(BUILD)/bugs/$$b/twopc-participant >/dev/null || exit 1; \
	done

# Each run must report violations: its lines are shown as expected.
BUGRUN = $(STEP) bug-$(1) --expected -- $(TEST_RUNNER) $(BUILD)/twopc-crashtest \
	--build $(abspath $(BUILD)/bugs/$(1)) --expect-violations
# Two lists run side by side (each run waits mostly on timeouts and the
# disk), each about half of the time.
.PHONY: bug-check bug-check-1 bug-check-2
bug-check: bug-check-1 bug-check-2
bug-check-1: all tests bugs
	$(KEEP_GOING)@$(call BUGRUN,GLOBAL_BEFORE_DECISION) matrix --point coordinator.after_first_global --path commit
	$(KEEP_GOING)@$(call BUGRUN,LAZY_READY) powerloss --cycles 20 --seed 1
	$(KEEP_GOING)@$(call BUGRUN,GROUP_LAZY) powerloss --cycles 20 --seed 1
	$(KEEP_GOING)@$(call BUGRUN,BUSY_AS_YES) random --cycles 10 --clients 8 --seed 1
bug-check-2: all tests bugs
	$(KEEP_GOING)@$(call BUGRUN,NO_LOCKS) random --cycles 20 --clients 8 --seed 1
	$(KEEP_GOING)@$(call BUGRUN,NO_LOG_LOCK) doublestart --cycles 5 --seed 1
	$(KEEP_GOING)@$(call BUGRUN,RESTART_ABORTS) matrix --point coordinator.after_decision_logged --path commit
	$(KEEP_GOING)@$(call BUGRUN,RESULT_BEFORE_WAIT) powerloss --cycles 60 --seed 1
	$(KEEP_GOING)@$(call BUGRUN,BATCH_ORDER) random --cycles 10 --clients 16 --seed 1

# The long run (not part of make test): 10,000 random kill cycles and 1,000
# power-loss cycles.
crashtest: all tests
	$(BUILD)/twopc-crashtest --build $(abspath $(BUILD)) random --cycles 10000 --seed $${SEED:-1}
	$(BUILD)/twopc-crashtest --build $(abspath $(BUILD)) powerloss --cycles 1000 --seed $${SEED:-1}

# make systemd-check: tests/systemd-boot.sh builds the Debian packages
# (from a copy of the tree), boots systemd as PID 1 of private namespaces on
# an overlay of /, installs them there and runs the units: readiness,
# watchdog, restart, sandbox, transactions, stop. Needs root; nothing
# outside the namespaces changes. Not part of make test (root, about 2
# minutes); a machine where it cannot run (exit 77) is reported, not failed.
.PHONY: systemd-check
systemd-check:
	@bash tests/systemd-boot.sh $(SYSTEMD_CHECK_ARGS); rc=$$?; \
	  if [ $$rc = 77 ]; then echo "systemd-check: skipped"; else exit $$rc; fi

# The production sources form layers: no file-level include or call cycle
# between them (tests/cycles.sh reads the sources and the objects' nm).
.PHONY: layering
layering: all
	@bash tests/cycles.sh $(BUILD)

check-unit: all tests
	TWOPC_SRCDIR=$(CURDIR) TWOPC_BUILD=$(abspath $(BUILD)) $(BUILD)/twopc-tests $(SUITE)

lint-man: $(TEST_DEPS_STAMP)
	@for m in man/*.[0-9]; do [ -f "$$m" ] || continue; \
	  out=$$(mandoc -T lint -W warning "$$m" 2>&1); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done; \
	echo "man pages: mandoc -T lint clean"

# The test program and the crash harness run under tests/lsan-run.sh: a
# leak report made only of NNG's own frames, or only of indirect leaks of
# objects NNG allocated, is printed, not counted (as the harness does for
# the daemons).
asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g" SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  TEST_RUNNER="sh tests/lsan-run.sh" test

demo: all
	$(call ensure_pkgs,openssl)
	@bash tests/demo.sh $(abspath $(BUILD))

# ---- fuzzing ----
# make fuzz: the libFuzzer targets of tests/fuzz (the wire codec, with
# encode(decode(x)) == x; the cluster-file loader), built with clang,
# ASan and UBSan in $(BUILD)/fuzz, each run FUZZ_SECONDS seconds from the
# seed corpus in tests/fuzz/corpus (new inputs go to $(BUILD)/fuzz/corpus-*,
# the tree's corpus is only read); libFuzzer prints its statistics.
# make test replays the seed corpus through the same targets built with
# $(CC) and replay.c instead of libFuzzer. make fuzz-corpus rewrites the
# wire seeds (tests/fuzz/gencorpus.c) and copies config/*.yaml.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

$(BUILD)/twopc-fuzz-%-replay: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libtwopc-common.a
	$(CC) $(INC_TESTS) $(CPPFLAGS) $(TWOPC_ALL_CFLAGS) $(TWOPC_EXE_LDFLAGS) -o $@ \
	  tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(BUILD)/libtwopc-common.a $(LIBS)

$(BUILD)/twopc-gencorpus: tests/fuzz/gencorpus.c $(BUILD)/libtwopc-common.a
	$(CC) $(INC_TESTS) $(CPPFLAGS) $(TWOPC_ALL_CFLAGS) $(TWOPC_EXE_LDFLAGS) -o $@ \
	  tests/fuzz/gencorpus.c $(BUILD)/libtwopc-common.a $(LIBS)

fuzz-corpus: $(BUILD)/twopc-gencorpus
	rm -f tests/fuzz/corpus/wire/*
	$(BUILD)/twopc-gencorpus tests/fuzz/corpus/wire
	cp config/*.yaml tests/fuzz/corpus/config/

# The library built again by clang with the fuzzer's coverage hooks.
$(BUILD)/fuzz/libtwopc-common.a: FORCE
	$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=$(FUZZ_CC) OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $@

$(BUILD)/fuzz/twopc-fuzz-%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libtwopc-common.a
	$(FUZZ_CC) $(INC_TESTS) -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ \
	  $< $(BUILD)/fuzz/libtwopc-common.a $(LIBS)

fuzz: $(BUILD)/fuzz/twopc-fuzz-wire $(BUILD)/fuzz/twopc-fuzz-config
	@for t in wire config; do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/twopc-fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	    2>&1 | grep -E '^(INFO: seed|#[0-9]+[[:space:]]+DONE|stat::|==|SUMMARY|Done)' || exit 1; \
	  test -z "$$(ls $(BUILD)/fuzz/$$t-crash-* $(BUILD)/fuzz/$$t-leak-* 2>/dev/null)" || exit 1; \
	done

.PHONY: FORCE
FORCE:

# ---- install ----
# Builds no test program but twopc-crashtest (its page is installed too);
# needs no CUnit, mandoc or spin. The systemd units go to UNITDIR with
# ExecStart naming $(PREFIX)/bin.
UNITS = systemd/twopc-coordinator.service systemd/twopc-participant@.service
install: all $(BUILD)/twopc-crashtest
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/twopc \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BINS) $(BUILD)/twopc-crashtest $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
	  sed 's|/usr/bin/|$(PREFIX)/bin/|' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && \
	  chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	install -m 644 $(BUILD)/libtwopc-participant.a $(BUILD)/libtwopc-client.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libtwopc-participant.so.0 $(BUILD)/libtwopc-client.so.0 $(DESTDIR)$(PREFIX)/lib/
	ln -sf libtwopc-participant.so.0 $(DESTDIR)$(PREFIX)/lib/libtwopc-participant.so
	ln -sf libtwopc-client.so.0 $(DESTDIR)$(PREFIX)/lib/libtwopc-client.so
	install -m 644 $(BUILD)/twopc-participant.pc $(BUILD)/twopc-client.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 $(PUBLIC_H) $(DESTDIR)$(PREFIX)/include/twopc/
	install -d $(DESTDIR)$(PREFIX)/share/man/man7
	install -d $(DESTDIR)$(PREFIX)/share/man/man3
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	  install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

# Removes exactly the files install puts in place (and include/twopc when
# it is left empty); folders shared with other software stay.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS)) twopc-crashtest)
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/lib/,libtwopc-participant.a libtwopc-client.a \
	  libtwopc-participant.so.0 libtwopc-client.so.0 libtwopc-participant.so libtwopc-client.so)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/lib/pkgconfig/,twopc-participant.pc twopc-client.pc)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/include/twopc/,$(notdir $(PUBLIC_H)))
	-rmdir $(DESTDIR)$(PREFIX)/include/twopc 2>/dev/null
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	  rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}; done

clean:
	rm -rf build

-include tests/model/model.mk
model model-quick: $(TEST_DEPS_STAMP)

# ---- library example ----
# The participant library as an installed C library: tests/library.sh
# installs into a temporary DESTDIR, builds participant/examples/ against
# the installed headers, .so and .pc only, checks the exported symbols and
# sonames, runs the examples in real clusters and the crash harness with
# the ledger example as the participant.
.PHONY: library-check test-library

# The .pc files name PREFIX: regenerate them when PREFIX changes (the stamp
# is rewritten only then), or `make && make install PREFIX=/usr` would
# install a .pc that points at /usr/local.
ifneq ($(shell cat $(BUILD)/.pc-prefix 2>/dev/null),$(PREFIX))
$(shell mkdir -p $(BUILD) && echo '$(PREFIX)' > $(BUILD)/.pc-prefix)
endif
$(BUILD)/twopc-participant.pc $(BUILD)/twopc-client.pc: $(BUILD)/.pc-prefix

library-check: all tests
	TWOPC_EXAMPLE_CFLAGS="$(SAN)" bash tests/library.sh $(abspath $(BUILD))

test-library: library-check
# ---- end library example ----

# ---- bench ----
# make bench: a local cluster over the matrix durability full|normal x
# participants 2,3,5 x concurrency 1,16,64,256, next to the machine's own
# limits (twopc-limits: fdatasync rate, SQLite WAL commits, NNG round trip, a
# transaction's round of NNG alone: the floor of any implementation)
# and, for durability full, next to the peer baseline: the same work as
# two-phase commit by hand with PostgreSQL (twopc-pgpeer, tests/pgpeer.c,
# on a private PostgreSQL server started by tests/bench.sh), plus a
# contention run (64 clients, 10 hot accounts) of both.
# Writes $(BUILD)/bench/results.csv, limits.json, throughput.svg, p99.svg.
# A benchmark, not a test: it asserts no speed. BENCH_ARGS=--quick: 2 s runs.
# gnuplot, PostgreSQL and libpq are installed when root.
.PHONY: bench
PEER_PKGS = postgresql libpq-dev
PEER_CFLAGS = $(shell pkg-config --cflags libpq 2>/dev/null || echo -I$$(pg_config --includedir))
PEER_LIBS = $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)

$(BUILD)/twopc-limits: tests/limits.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(INC_TESTS) $(CPPFLAGS) $(TWOPC_ALL_CFLAGS) $(TWOPC_EXE_LDFLAGS) -o $@ tests/limits.c $(LIBS)

$(BUILD)/twopc-pgpeer: tests/pgpeer.c
	@mkdir -p $(dir $@)
	$(CC) $(PEER_CFLAGS) $(CPPFLAGS) $(TWOPC_ALL_CFLAGS) $(TWOPC_EXE_LDFLAGS) -o $@ tests/pgpeer.c \
	    $(PEER_LIBS) -lpthread

# Not root: what is missing is skipped by tests/bench.sh, with the command
# that installs it (the plots, the peer), and the rest runs.
bench: all $(BUILD)/twopc-limits
	$(if $(filter 0,$(shell id -u)),$(call ensure_pkgs,gnuplot-nox $(PEER_PKGS)))
	@if [ -f "$$(pg_config --includedir 2>/dev/null)/libpq-fe.h" ]; then \
	    $(MAKE) --no-print-directory $(BUILD)/twopc-pgpeer; fi
	bash tests/bench.sh $(abspath $(BUILD)) $(BENCH_ARGS)

# make loggrowth: a local cluster (retention_s 5, durability normal) runs
# LOGGROWTH_TXNS transactions (default 1,000,000; 15-20 minutes on two
# cores) and compares the size of every log file after 10,000 and after all
# of them, once expiry has run. Fails when a file grew by more than 1.5x.
# Not part of make test. Writes $(BUILD)/loggrowth/results.txt.
.PHONY: loggrowth
LOGGROWTH_TXNS ?= 1000000

loggrowth: all
	bash tests/loggrowth.sh $(abspath $(BUILD)) --txns $(LOGGROWTH_TXNS)
# ---- end bench ----
