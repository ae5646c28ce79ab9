# giftlink - top-level Makefile.
#
#   make            build everything (installs missing Debian packages first)
#   make test       unit + system tests, once as built and once under
#                   AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       the demonstration on the embedded defaults
#   make bench      benchmarks (tests/bench), BENCH lines
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (default 30)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#
# Each module describes itself in a module.mk next to its sources (the
# library sources it adds, its programs); this file only knows the rules.

PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?= 0
CC      := gcc
FUZZ_CC := clang
FUZZ_SECONDS ?= 30

ifeq ($(SAN),1)
BUILD   ?= build/san
OPT     := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
else
BUILD   ?= build
OPT     := -O2
endif

WARN    := -Wall -Wextra -Werror
CFLAGS  := -std=c11 $(WARN) $(OPT) -g -D_GNU_SOURCE -MMD -MP
LDFLAGS := $(filter -fsanitize%,$(OPT))

# Library sources, programs and include directories come from the modules.
GL_LIB_SRCS :=
GL_PROGS    :=
GL_INCLUDES :=
GL_EXTRA_TARGETS :=
include $(sort $(wildcard lib/*/module.mk hal/module.mk drivers/module.mk \
                          firmware/module.mk host-server/module.mk \
                          tests/emulators/module.mk tests/bench/module.mk))

# Evaluated when a recipe runs, after toolchain/deps.sh has installed them.
PKG_LIBS = $(shell pkg-config --libs libnfc libserialport sqlite3 inih ncursesw \
                                  libsmpp34 libmicrohttpd jansson libcurl \
                                  libpng) -lzint
LDLIBS   = -lmbedtls -lmbedx509 -lmbedcrypto $(PKG_LIBS) -lpthread -lm

DEPS_STAMP := build/.deps-stamp
LIBA       := $(BUILD)/libgiftlink.a
LIB_OBJS   := $(GL_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PROG_BINS  := $(GL_PROGS:%=$(BUILD)/bin/%)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps test test-one demo bench fuzz install clean format
# Keep object files that make sees as intermediate.
.SECONDARY:
all: $(PROG_BINS) $(UNIT_BINS) $(BENCH_BINS) $(GL_EXTRA_TARGETS)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): toolchain/deps.sh
	./toolchain/deps.sh
	@mkdir -p $(dir $@) && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GL_INCLUDES) -c $< -o $@

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Object files of a list of sources (a function, so that no '%' appears in
# the pattern rules below, where make would take it for the stem).
src2obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.SECONDEXPANSION:
$(BUILD)/bin/%: $$(call src2obj,$$($$*_SRCS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o \
                  $$(call src2obj,$$($$*_EXTRA)) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The suite runs twice: as built, then under ASan + UBSan.  run.sh adds up
# every program's "N passed, N failed" and closes with the total.
test: all
	$(MAKE) --no-print-directory SAN=1 all
	./tests/run.sh build build/san

# One build only, for a quick loop: make test-one [SAN=1]
test-one: all
	./tests/run.sh $(BUILD)

demo: all
	./tests/demo.sh $(BUILD)

bench: all
	./tests/bench/run.sh $(BUILD)

# libFuzzer: the parsers are compiled again with clang and the fuzzer.  A
# harness links lib/common and lib/iso8583 plus what its module.mk lists in
# <harness>_FUZZ_SRCS.
FUZZ_FLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
FUZZ_BASE  := $(filter lib/common/% lib/iso8583/%,$(GL_LIB_SRCS))
build/fuzz/%: tests/fuzz/%.c $(FUZZ_BASE) $$($$*_FUZZ_SRCS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(GL_INCLUDES) -o $@ $< $(FUZZ_BASE) \
	    $($*_FUZZ_SRCS) $(LDLIBS)

fuzz: $(FUZZ_BINS) $(BUILD)/bin/gl-iso
	./tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/giftlink
	install -m 0755 $(PROG_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/*.md etc/*.ini $(DESTDIR)$(PREFIX)/share/giftlink/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build/obj build/san build/tests build/bench build/bin build/fuzz \
	       build/libgiftlink.a build/test-logs

-include $(shell find build -name '*.d' 2>/dev/null)
