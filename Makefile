# keyd: non-recursive GNU make build.
#
#   make               build everything into build/release (installs missing Debian packages)
#   make check         build with ASan+UBSan into build/asan and run unit, integration,
#                      fuzz-smoke and VM tests; ends with "N passed, N failed, N skipped"
#   make demo          the main job, end to end, on a private swtpm
#   make fuzz          build the libFuzzer targets (clang) into build/fuzz
#   make bench         run the benchmarks under tests/bench
#   make install DESTDIR= PREFIX=
#
# Variables: BUILD (build dir), SANITIZE=1, V=1, NO_DEPS=1 (skip the package step).

VERSION := 0.1.0
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib/$(shell gcc -print-multiarch 2>/dev/null)
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR ?=

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
else
BUILD ?= build/release
endif

CC ?= gcc
PKG_CONFIG ?= pkg-config
PKGS := tss2-esys tss2-mu tss2-rc tss2-tctildr libcrypto libkeyutils

WARN := -Wall -Wextra -Werror -Wswitch-enum -Wmissing-declarations -Wformat-security \
	-Wno-missing-field-initializers -Wshadow -Wstrict-prototypes -Wvla
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIC -fvisibility=hidden
INCLUDES := -Ikeyd/base -Ikeyd/core -Ikeyd/ctl

ifeq ($(SANITIZE),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
# _FORTIFY_SOURCE and ASan do not combine well; ASan does the checking here.
HARDEN := $(filter-out -D_FORTIFY_SOURCE=3,$(HARDEN))
else
OPT := -O2 -g
LDSAN :=
endif

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?=
CFLAGS += -DKEYD_VERSION=\"$(VERSION)\" -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(INCLUDES) $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(LDSAN) -Wl,-z,relro,-z,now

ifneq ($(V),1)
Q := @
E := @echo
else
Q :=
E := @true
endif

# ---- sources ---------------------------------------------------------------
BASE_SRC := $(sort $(wildcard keyd/base/*.c))
CORE_SRC := $(sort $(wildcard keyd/core/*.c))
CTL_SRC := $(sort $(wildcard keyd/ctl/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
TESTTOOL_SRC := $(sort $(wildcard tests/lib/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
BASE_OBJ := $(call obj,$(BASE_SRC))
CORE_OBJ := $(call obj,$(CORE_SRC))
CTL_OBJ := $(call obj,$(CTL_SRC))

LIBCORE := $(BUILD)/libkeyd-core.a
PROGRAMS := $(BUILD)/keyd-ctl
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
TESTTOOL_BIN := $(patsubst tests/lib/%.c,$(BUILD)/tests/%,$(TESTTOOL_SRC))

.PHONY: all deps check check-unit check-integration check-fuzz check-vm demo fuzz bench \
	install clean distclean
.DEFAULT_GOAL := all

all: deps
	$(Q)$(MAKE) --no-print-directory NO_DEPS=1 build-all

.PHONY: build-all
build-all: $(PROGRAMS) $(UNIT_BIN) $(TESTTOOL_BIN)

# ---- dependency step: installs missing Debian packages ----------------------
deps:
ifneq ($(NO_DEPS),1)
	$(Q)./mk/deps.sh build
endif

$(BUILD)/obj/%.o: %.c
	$(E) "  CC      $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCORE): $(BASE_OBJ) $(CORE_OBJ)
	$(E) "  AR      $@"
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/keyd-ctl: $(CTL_OBJ) $(LIBCORE)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBCORE) $(PKG_LIBS)

# A unit test links base/ and the core modules named in tests/unit/<test>.deps
# (one line of module names), so one module's test does not wait on the rest.
unit_deps = $(addprefix $(BUILD)/obj/keyd/core/,$(addsuffix .o,$(shell cat tests/unit/$(1).deps 2>/dev/null)))
.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c $(BASE_OBJ) $$(call unit_deps,$$*)
	$(E) "  TEST    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(BASE_OBJ) $(call unit_deps,$*) \
		$(PKG_LIBS) $$($(PKG_CONFIG) --libs cmocka)

# Test tools (tests/lib/*.c) link the whole core.
$(BUILD)/tests/%: tests/lib/%.c $(LIBCORE)
	$(E) "  TOOL    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(LIBCORE) $(PKG_LIBS)

# ---- tests -------------------------------------------------------------------
# make check: everything under the sanitizer build.
check: deps
	$(Q)./mk/deps.sh test
	$(Q)$(MAKE) --no-print-directory NO_DEPS=1 SANITIZE=1 build-all
	$(Q)$(MAKE) --no-print-directory NO_DEPS=1 fuzz
	$(Q)KEYD_BUILD=$(abspath build/asan) KEYD_FUZZ_BUILD=$(abspath build/fuzz) \
		tests/run-tests.sh $(TESTS)

# ---- fuzzing (clang, libFuzzer) -------------------------------------------------
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(INCLUDES) \
	$(PKG_CFLAGS) -Wall -Wextra -Werror -Wno-missing-field-initializers -MMD -MP
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))
fuzz_deps = $(addprefix $(FUZZ_BUILD)/obj/keyd/core/,$(addsuffix .o,$(shell cat tests/fuzz/$(1).deps 2>/dev/null)))

fuzz: deps
	$(Q)$(MAKE) --no-print-directory NO_DEPS=1 fuzz-build

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: %.c
	$(E) "  CLANG   $<"
	$(Q)mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(call fuzz_obj,$(BASE_SRC)) $$(call fuzz_deps,$$*)
	$(E) "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -MF $@.d -o $@ $< \
		$(call fuzz_obj,$(BASE_SRC)) $(call fuzz_deps,$*) $(PKG_LIBS)

# ---- demo and benchmarks -------------------------------------------------------------
demo: all
	$(Q)./mk/deps.sh test
	$(Q)KEYD_BUILD=$(abspath $(BUILD)) tests/demo.sh

bench: all
	$(Q)./mk/deps.sh test
	$(Q)set -e; for b in tests/bench/*.sh; do [ -e "$$b" ] || continue; \
		KEYD_BUILD=$(abspath $(BUILD)) "$$b"; done

# ---- install ---------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/keyd-ctl $(DESTDIR)$(SBINDIR)/keyd-ctl
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(PREFIX)/share/keyd/policy
	install -m 0644 policy/*.policy $(DESTDIR)$(PREFIX)/share/keyd/policy/
	install -d -m 0700 $(DESTDIR)/var/lib/keyd
	install -d $(DESTDIR)$(SYSCONFDIR)/keyd

clean:
	rm -rf build

distclean: clean

-include $(shell find build -name '*.d' 2>/dev/null)
