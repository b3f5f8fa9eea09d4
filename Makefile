# nio-c: one Makefile for every chapter.
#
# Each chapter folder holds a chapter.mk that names its modules, programs,
# unit tests and the earlier chapters it stands on; the rules below are
# written once and stamped out for every chapter. Adding a chapter is adding
# a folder with a chapter.mk, a demo.sh, its tests and its slides.
#
# Everything is built out of tree into $(BUILD) (default build/). Compile
# lines go to stderr, so that `make chapter-N` prints only the demo on
# stdout. `make V=1` shows the full commands.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
SAN      ?=
CFLAGS   ?= -g $(OPT)
WARN     := -std=c11 -Wall -Wextra -Wpedantic -Werror
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -Ichapters -Icommon
LDLIBS   += -pthread
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer \
              -fno-sanitize-recover=all)
ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

ifeq ($(V),1)
  Q :=
  say :=
else
  Q := @
  say = @printf '  %-5s %s\n' $(1) $(2) >&2;
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.PHONY: all run test lab-selftest sanitize bench stress bench-tools fuzz fuzzers slides lint \
        help clean

CHAPTERS := $(sort $(patsubst chapters/%/chapter.mk,%,\
              $(wildcard chapters/[0-9][0-9]-*/chapter.mk)))
COMMON_LIB := $(BUILD)/lib/libcommon.a
COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard common/*.c))
TAP_OBJ := $(BUILD)/obj/tests/unit/tap.o
LAB_CHECK_OBJ := $(BUILD)/obj/tests/lab/lab_check.o

# Labs. LAB_DIR holds the learner's chapters (lab/NN-name/); LAB=own uses
# every lab written so far, not just chapter N's; STAGE=name runs one stage.
# LAB_SOURCES, set only by tools/lab-check.sh for its own build folder,
# names the files (NN-name/file.c) compiled from LAB_DIR instead of
# chapters/: a plain `make` never sees the learner's code.
LAB_DIR ?= lab
LAB ?=
STAGE ?=
LAB_SOURCES ?=
lab_check = LAB_DIR='$(LAB_DIR)' LAB='$(LAB)' STAGE='$(STAGE)' \
	LAB_BUILD_BASE='$(BUILD)' CC='$(CC)' bash tools/lab-check.sh

# Without bats, say how to get it before building anything.
HAVE_BATS := $(shell command -v bats 2>/dev/null)
TEST_NEEDS := $(if $(HAVE_BATS),all,no-bats)

ALL_BINS :=
ALL_LIBS :=
ALL_UNITS :=
THREADED_CHAPTERS :=

# $(call chapter_number,01-buffer) -> 1
chapter_number = $(patsubst 0%,%,$(firstword $(subst -, ,$(1))))

# The rules of one chapter; $(1) is its folder name, e.g. 01-buffer.
define chapter_rules
MODULES :=
PROGRAMS :=
UNITS :=
USES :=
THREADED :=
LAB_CHECKS :=
include chapters/$(1)/chapter.mk
$(1)_LIB := $(BUILD)/lib/lib$(1).a
$(1)_OBJS := $$(patsubst %,$(BUILD)/obj/chapters/$(1)/%.o,$$(MODULES))
$(1)_BINS := $$(patsubst %,$(BUILD)/bin/%,$$(PROGRAMS))
$(1)_UNITS := $$(patsubst %,$(BUILD)/tests/%,$$(UNITS))
$(1)_LAB_CHECKS := $$(patsubst %,$(BUILD)/tests/%,$$(LAB_CHECKS))
# Link order: this chapter's library, then the ones it uses, then common.
$(1)_LIBS := $$($(1)_LIB) $$(foreach u,$$(USES),$$($$(u)_LIB)) $(COMMON_LIB)
ALL_BINS += $$($(1)_BINS)
ALL_LIBS += $$(if $$(MODULES),$$($(1)_LIB))
ALL_UNITS += $$($(1)_UNITS) $$($(1)_LAB_CHECKS)
THREADED_CHAPTERS += $$(if $$(THREADED),$(call chapter_number,$(1)))

$$($(1)_LIB): $$($(1)_OBJS)
	$$(call say,AR,$$@)
	$(Q)mkdir -p $$(@D) && rm -f $$@ && $(AR) rcs $$@ $$^

$$($(1)_BINS): $(BUILD)/bin/%: $(BUILD)/obj/chapters/$(1)/%.o $$($(1)_LIBS)
	$$(call say,LINK,$$@)
	$(Q)mkdir -p $$(@D) && $$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS)

$$($(1)_UNITS): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TAP_OBJ) \
		$$($(1)_LIBS)
	$$(call say,LINK,$$@)
	$(Q)mkdir -p $$(@D) && $$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS)

$$($(1)_LAB_CHECKS): $(BUILD)/tests/%: $(BUILD)/obj/tests/lab/%.o \
		$(LAB_CHECK_OBJ) $$($(1)_LIBS)
	$$(call say,LINK,$$@)
	$(Q)mkdir -p $$(@D) && $$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS)

# The lab: make lab-N writes the learner's copy, make check-N checks it.
.PHONY: lab-$(call chapter_number,$(1)) check-$(call chapter_number,$(1)) \
        lab-build-$(call chapter_number,$(1))
lab-$(call chapter_number,$(1)):
	@sh tools/lab.sh make $(call chapter_number,$(1)) $(LAB_DIR)
check-$(call chapter_number,$(1)):
	@$(lab_check) $(call chapter_number,$(1))
lab-build-$(call chapter_number,$(1)): $$($(1)_BINS) $$($(1)_LAB_CHECKS)

.PHONY: chapter-$(call chapter_number,$(1)) test-$(call chapter_number,$(1))
chapter-$(call chapter_number,$(1)): $$($(1)_BINS)
	@NIO_BIN=$(abspath $(BUILD))/bin sh chapters/$(1)/demo.sh

test-$(call chapter_number,$(1)): $$(TEST_NEEDS)
	@$$(call run_bats,tests/$(1).bats)
endef

$(foreach c,$(CHAPTERS),$(eval $(call chapter_rules,$(c))))

# A learner's file replaces the chapter's: same object, their source. The
# chapter's own folder is searched for quoted includes first, as it would
# be for the reference source.
define lab_object
$(BUILD)/obj/chapters/$(basename $(1)).o: $(LAB_DIR)/$(1)
	$$(call say,CC,$$@)
	$(Q)mkdir -p $$(@D) && $$(CC) $$(CPPFLAGS) -iquote chapters/$(dir $(1)) \
	  $$(ALL_CFLAGS) -c -o $$@ $$<
endef
$(foreach f,$(LAB_SOURCES),$(eval $(call lab_object,$(f))))

$(COMMON_LIB): $(COMMON_OBJS)
	$(call say,AR,$@)
	$(Q)mkdir -p $(@D) && rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/obj/%.o: %.c
	$(call say,CC,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

all: $(ALL_LIBS) $(ALL_BINS) $(ALL_UNITS)

# The course's own site, served by the server the course builds. The site
# is regenerated each time, with the decks when `make slides` has run.
# LAB=own serves it with the learner's own labs in place of the chapters'.
PORT ?= 8080
run: $(if $(filter own,$(LAB)),,$(BUILD)/bin/httpd)
	@sh chapters/07-http-server/site/build-site.sh $(BUILD)/site $(BUILD)/slides >&2
	@bin=$(BUILD)/bin; \
	$(if $(filter own,$(LAB)),bin=$$(sh tools/lab.sh own-build $(BUILD) $(LAB_DIR)) || exit 1;) \
	echo "serving the course; open the address httpd prints below (Ctrl-C stops it)"; \
	exec $$bin/httpd -p $(PORT) --root $(BUILD)/site

# --- the course's Java programs -----------------------------------------

# Chapters 4, 5 and 6 have a Java version of the article's programs,
# written for the course. make java-N builds it into $(BUILD)/java/ (with
# javac; nothing is installed) and runs it against the C clients.
JAVA_CHAPTERS := 4 5 6
.PHONY: $(addprefix java-,$(JAVA_CHAPTERS))
$(addprefix java-,$(JAVA_CHAPTERS)): java-%: all
	@NIO_BUILD=$(abspath $(BUILD)) sh tools/java.sh run $*

# --- tests --------------------------------------------------------------

# bats runs with the build folder in the environment, so that the tests
# use the binaries this make built (plain, sanitized, ...).
run_bats = NIO_BUILD=$(abspath $(BUILD)) NIO_BUILT=1 NIO_SAN=$(SAN) \
	NIO_OPT=$(OPT) bats $(1)

.PHONY: no-bats
no-bats:
	@echo "bats is not installed; install it with one of:" >&2
	@echo "  sudo apt-get install bats     (Debian, Ubuntu)" >&2
	@echo "  sudo dnf install bats         (Fedora)" >&2
	@echo "  brew install bats-core        (macOS)" >&2
	@echo "  npm install -g bats           (anywhere with Node.js)" >&2
	@exit 1

test: $(TEST_NEEDS)
	@$(call run_bats,tests)

# ASan+UBSan over every test, then ThreadSanitizer over the chapters that
# use threads. Separate build folders keep the three builds apart.
sanitize:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT=-O1 \
	  SAN=address,undefined test
	$(if $(strip $(THREADED_CHAPTERS)),$(MAKE) --no-print-directory \
	  BUILD=$(BUILD)/tsan OPT=-O1 SAN=thread \
	  $(foreach n,$(THREADED_CHAPTERS),test-$(n)))

# The labs are honest: a fresh lab fails every stage, the chapters' own
# code passes every stage, and each learner's mistake kept in
# tests/lab/mutations/ fails its stage (tools/lab-selftest.sh).
lab-selftest:
	@LAB_BUILD_BASE='$(BUILD)' CC='$(CC)' bash tools/lab-selftest.sh

# --- benchmarks ---------------------------------------------------------

# bench/ measures the whole course: floor-server (the floor: a fixed
# answer, no parsing) and stress-client (the load and fault clients). Both
# are Linux-only (epoll, /proc), so `all` never builds them.
BENCH_TOOLS := $(BUILD)/bin/floor-server $(BUILD)/bin/stress-client

$(BENCH_TOOLS): $(BUILD)/bin/%: $(BUILD)/obj/bench/%.o $(COMMON_LIB)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

bench-tools: $(BENCH_TOOLS)

# Every chapter's bench.sh, in order, with -O2 binaries. Each prints its
# table and writes BENCH_OUT/NN-name.md (and a plot when gnuplot exists).
# Then bench/run-bench.sh: httpd beside nginx and the floor, memory per
# idle connection, the parser, and the course's targets (results.md).
bench: all $(BENCH_TOOLS)
	@mkdir -p $(BUILD)/bench
	@for b in chapters/[0-9][0-9]-*/bench.sh; do \
	  [ -f "$$b" ] || continue; \
	  NIO_BIN=$(abspath $(BUILD))/bin BENCH_OUT=$(abspath $(BUILD))/bench \
	    sh "$$b" || exit 1; \
	done
	@NIO_BIN=$(abspath $(BUILD))/bin BENCH_OUT=$(abspath $(BUILD))/bench \
	  sh bench/run-bench.sh

# httpd under what the internet does to servers, on loopback; each check
# prints PASS or FAIL with its figures (about 45 s).
stress: all $(BENCH_TOOLS)
	@NIO_BIN=$(abspath $(BUILD))/bin NIO_SAN=$(SAN) sh bench/stress.sh

# --- fuzzing ------------------------------------------------------------

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, each with a seed corpus in
# tests/fuzz/corpus/fuzz_NAME/. Built with clang under ASan+UBSan and run
# for FUZZ_SECONDS each; new inputs go to $(BUILD)/fuzz-corpus, never into
# the repository. A crash leaves its input in $(BUILD)/fuzz-crashes.
FUZZ_SECONDS ?= 60
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,\
                  $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIBS = $(foreach c,$(call reverse,$(CHAPTERS)),$(if $($(c)_OBJS),$($(c)_LIB))) \
            $(COMMON_LIB)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(FUZZ_LIBS)
	$(call say,LINK,$@)
	$(Q)mkdir -p $(@D) && $(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzzers: $(FUZZ_TARGETS)

fuzz:
	@command -v clang >/dev/null 2>&1 || { \
	  echo "make fuzz needs clang (and libclang-rt-14-dev on Debian)" >&2; exit 1; }
	$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz-build CC=clang OPT=-O1 \
	  SAN=address,undefined CFLAGS='-g -O1 -fsanitize=fuzzer-no-link' fuzzers
	@for f in $(BUILD)/fuzz-build/fuzz/fuzz_*; do \
	  [ -x "$$f" ] || continue; \
	  name=$$(basename "$$f"); \
	  mkdir -p $(BUILD)/fuzz-corpus/$$name $(BUILD)/fuzz-crashes; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  "$$f" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz-crashes/$$name- \
	    $(BUILD)/fuzz-corpus/$$name tests/fuzz/corpus/$$name \
	    2>$(BUILD)/fuzz-corpus/$$name.log || { \
	      tail -40 $(BUILD)/fuzz-corpus/$$name.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units' $(BUILD)/fuzz-corpus/$$name.log; \
	done

# --- slides, lint -------------------------------------------------------

slides:
	@sh tools/render-slides.sh $(BUILD)/slides

C_SOURCES = $(wildcard common/*.[ch] chapters/*/*.[ch] tests/unit/*.[ch] tests/lab/*.[ch] bench/*.[ch])
SHELL_SCRIPTS = .ci/run $(wildcard tools/*.sh chapters/*/*.sh chapters/*/*/*.sh \
                  tests/*.bash tests/*/*.bash tests/lab/*.stages bench/*.sh)

lint:
	@sh tools/lint.sh "$(C_SOURCES)" "$(SHELL_SCRIPTS)"

help:
	@echo "nio-c: Java NIO ideas rebuilt in C, one chapter at a time."
	@echo
	@echo "  make              build every chapter into $(BUILD)/"
	@echo "  make run          serve the course on http://127.0.0.1:$(PORT)/ (PORT=..., LAB=own)"
	@echo "  make chapter-N    build chapter N and run its demo (N = $(foreach c,$(CHAPTERS),$(call chapter_number,$(c))))"
	@echo "  make java-N       build and run chapter N's Java version (N = $(JAVA_CHAPTERS); needs a JDK)"
	@echo "  make test         run every test (needs bats)"
	@echo "  make test-N       run chapter N's tests"
	@echo "  make lab-N        write chapter N yourself: creates $(LAB_DIR)/NN-name/"
	@echo "  make check-N      check your chapter N stage by stage (STAGE=name, LAB=own)"
	@echo "  make lab-selftest prove every lab honest (fresh fails, reference passes)"
	@echo "  make sanitize     the tests again under ASan+UBSan (and TSan)"
	@echo "  make bench        the measured comparisons, as tables (and plots)"
	@echo "  make stress       httpd under load and abuse: PASS/FAIL per check"
	@echo "  make fuzz         each libFuzzer target for FUZZ_SECONDS (default 60)"
	@echo "  make slides       render the decks to $(BUILD)/slides/*.html, check every slide fits"
	@echo "  make lint         cppcheck, shellcheck and clang-format checks"
	@echo "  make clean        remove $(BUILD)/"
	@echo
	@echo "  Variables: CC=clang, V=1 (show commands), BUILD=dir, SAN=..."

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
