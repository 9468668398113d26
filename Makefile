# keyd: non-recursive GNU make build.
#
#   make               build everything into build/release (installs missing Debian packages)
#   make check         build with ASan+UBSan into build/asan and run unit, integration,
#                      fuzz-smoke and VM tests; ends with "N passed, N failed, N skipped"
#   make demo          the main job, end to end, on a private swtpm
#   make fuzz          build the libFuzzer targets (clang) into build/fuzz
#   make bench         run the benchmarks under tests/bench
#   make kernel-test   apply kernel-patches/ to Debian's linux-source-6.12, build the touched
#                      modules out of tree, boot them in the 6.12 VM (kernel-patches/README.md)
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
UNITDIR ?= $(PREFIX)/lib/systemd/system
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
INCLUDES += -Ikeyd/client

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
DAEMON_SRC := $(sort $(wildcard keyd/daemon/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test-*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
TESTTOOL_SRC := $(sort $(wildcard tests/lib/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
BASE_OBJ := $(call obj,$(BASE_SRC))
CORE_OBJ := $(call obj,$(CORE_SRC))
CTL_OBJ := $(call obj,$(CTL_SRC))
DAEMON_OBJ := $(call obj,$(DAEMON_SRC))
# libkeyd-client (the socket client), linked into keyd-ctl.
CLIENT_OBJ := $(call obj,$(sort $(wildcard keyd/client/*.c)))
CTL_OBJ += $(CLIENT_OBJ)

LIBCORE := $(BUILD)/libkeyd-core.a
PROGRAMS := $(BUILD)/keyd-ctl $(BUILD)/keyd
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

# The daemon's own headers (server.h) are visible to the daemon's files only.
$(DAEMON_OBJ): CFLAGS += -Ikeyd/daemon

$(BUILD)/keyd: $(DAEMON_OBJ) $(LIBCORE)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJ) $(LIBCORE) $(PKG_LIBS)

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
	$(Q)rc=0; for b in tests/bench/*.sh; do [ -e "$$b" ] || continue; \
		KEYD_TOP=$(abspath .) KEYD_BUILD=$(abspath $(BUILD)) "$$b"; s=$$?; \
		[ $$s -eq 0 ] || [ $$s -eq 77 ] || rc=1; done; exit $$rc

# ---- install ---------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/keyd-ctl $(DESTDIR)$(SBINDIR)/keyd-ctl
	install -m 0755 $(BUILD)/keyd $(DESTDIR)$(SBINDIR)/keyd
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(PREFIX)/share/keyd/policy
	install -m 0644 policy/*.policy $(DESTDIR)$(PREFIX)/share/keyd/policy/
	install -d -m 0700 $(DESTDIR)/var/lib/keyd
	install -d $(DESTDIR)$(SYSCONFDIR)/keyd
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/keyd|$(SBINDIR)/keyd|' units/keyd.service >$(DESTDIR)$(UNITDIR)/keyd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/keyd.service

clean:
	rm -rf build

distclean: clean

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- keyd-handshaked: the handshake agent (the only program using GnuTLS and libnl-genl) ---
HS_SRC := $(sort $(wildcard keyd/handshake/*.c))
HS_OBJ := $(call obj,$(HS_SRC))
HS_PKGS := gnutls libnl-genl-3.0
$(HS_OBJ): CFLAGS += -Ikeyd/handshake $(shell $(PKG_CONFIG) --cflags $(HS_PKGS) 2>/dev/null)
$(BUILD)/keyd-handshaked: $(HS_OBJ) $(LIBCORE)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(HS_OBJ) $(LIBCORE) $(PKG_LIBS) \
		$(shell $(PKG_CONFIG) --libs $(HS_PKGS) 2>/dev/null)
build-all: $(BUILD)/keyd-handshaked
.PHONY: install-handshaked
install: install-handshaked
install-handshaked: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/keyd-handshaked $(DESTDIR)$(SBINDIR)/keyd-handshaked
	sed 's|/usr/sbin/keyd-handshaked|$(SBINDIR)/keyd-handshaked|' units/keyd-handshaked.service \
		>$(DESTDIR)$(UNITDIR)/keyd-handshaked.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/keyd-handshaked.service

# ---- keyd-request-key: the /sbin/request-key callout (keyd-request-key(8)) -------------
# Two programs from keyd/request-key: keyd-request-key asks keyd and links only
# libkeyutils (it starts as fast as keyctl); keyd-request-key-direct adds the
# store and TPM path (direct-store.c) for when keyd is not running.
RK_COMMON_SRC := $(filter-out keyd/request-key/direct-%.c,$(sort $(wildcard keyd/request-key/*.c)))
RK_OBJ := $(call obj,$(RK_COMMON_SRC) keyd/request-key/direct-exec.c)
RKD_OBJ := $(call obj,$(RK_COMMON_SRC) keyd/request-key/direct-store.c)
$(call obj,$(sort $(wildcard keyd/request-key/*.c))): CFLAGS += -Ikeyd/request-key
$(BUILD)/keyd-request-key: $(RK_OBJ) $(CLIENT_OBJ) $(LIBCORE)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(RK_OBJ) $(CLIENT_OBJ) $(LIBCORE) \
		$$($(PKG_CONFIG) --libs libkeyutils)
$(BUILD)/keyd-request-key-direct: $(RKD_OBJ) $(CLIENT_OBJ) $(LIBCORE)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(RKD_OBJ) $(CLIENT_OBJ) $(LIBCORE) $(PKG_LIBS)
build-all: $(BUILD)/keyd-request-key $(BUILD)/keyd-request-key-direct
.PHONY: install-request-key
install: install-request-key
install-request-key: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/request-key.d
	install -m 0755 $(BUILD)/keyd-request-key $(DESTDIR)$(SBINDIR)/keyd-request-key
	install -m 0755 $(BUILD)/keyd-request-key-direct $(DESTDIR)$(SBINDIR)/keyd-request-key-direct
	sed 's|/usr/sbin/keyd-request-key|$(SBINDIR)/keyd-request-key|' \
		policy/request-key-keyd.conf >$(DESTDIR)$(SYSCONFDIR)/request-key.d/keyd.conf
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/request-key.d/keyd.conf

# ---- libkeyd-gnutls: the GnuTLS adapter (keyd/gnutls/keyd-gnutls.h, docs/gnutls.md) -------
# Loaded into other programs, so built without sanitizers in a directory of its own,
# with libkeyd-client and the base/core files it needs linked in statically; only
# keyd_gnutls_* is exported (-fvisibility=hidden and keyd/gnutls/keyd-gnutls.sym).
# Unused functions of the linked-in core files are dropped (--gc-sections), which
# keeps psk.c's libcrypto derivations out of GnuTLS programs.
GNUTLS_SRC := $(sort $(wildcard keyd/gnutls/*.c))
GNUTLS_OBJ := $(call obj,$(GNUTLS_SRC))
GNUTLS_LIB_SRC := $(GNUTLS_SRC) $(sort $(wildcard keyd/client/*.c)) keyd/base/log.c \
	keyd/base/fileio.c keyd/base/parse.c keyd/base/der.c keyd/core/proto.c \
	keyd/core/keyring.c keyd/core/psk.c
GNUTLS_LIB_OBJ := $(patsubst %.c,$(BUILD)/gnutls/obj/%.o,$(GNUTLS_LIB_SRC))
GNUTLS_LIB_CFLAGS = $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -Ikeyd/gnutls \
	-ffunction-sections -fdata-sections $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null)
GNUTLS_LIB_LIBS = $(shell $(PKG_CONFIG) --libs gnutls libkeyutils 2>/dev/null)
GNUTLS_LIB := $(BUILD)/libkeyd-gnutls.so.0
$(GNUTLS_OBJ): CFLAGS += -Ikeyd/gnutls $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null)
$(BUILD)/gnutls/obj/%.o: %.c
	$(E) "  CC      $< (libkeyd-gnutls)"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(GNUTLS_LIB_CFLAGS) -c $< -o $@
$(GNUTLS_LIB): $(GNUTLS_LIB_OBJ) keyd/gnutls/keyd-gnutls.sym
	$(E) "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libkeyd-gnutls.so.0 -Wl,-z,relro,-z,now -Wl,--gc-sections \
		-Wl,--version-script=keyd/gnutls/keyd-gnutls.sym -Wl,--no-undefined -o $@ \
		$(GNUTLS_LIB_OBJ) $(GNUTLS_LIB_LIBS)
	$(Q)ln -sf libkeyd-gnutls.so.0 $(BUILD)/libkeyd-gnutls.so
$(BUILD)/keyd-gnutls.pc: keyd/gnutls/keyd-gnutls.pc.in
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(PREFIX)/include|' -e 's|@VERSION@|$(VERSION)|' $< >$@
build-all: $(GNUTLS_LIB) $(BUILD)/keyd-gnutls.pc
# The handshake agent signs with TPM-resident keys through the adapter (tls.c's seam).
$(call obj,keyd/handshake/tls.c): CFLAGS += -Ikeyd/gnutls
$(BUILD)/keyd-handshaked: $(GNUTLS_OBJ) $(CLIENT_OBJ)
HS_OBJ += $(GNUTLS_OBJ) $(CLIENT_OBJ)
# The agent reports readiness (Type=notify) with the daemon's sd_notify writer.
$(BUILD)/keyd-handshaked: $(call obj,keyd/daemon/notify.c)
HS_OBJ += $(call obj,keyd/daemon/notify.c)
$(call obj,keyd/handshake/main.c): CFLAGS += -Ikeyd/daemon
# The test client is built on the shared library, as a third-party program would be.
$(BUILD)/tests/gnutls-client: tests/lib/gnutls-client.c $(GNUTLS_LIB)
	$(E) "  TOOL    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Ikeyd/gnutls $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null) \
		-MF $@.d $(LDFLAGS) -o $@ $< -L$(BUILD) -lkeyd-gnutls \
		-Wl,-rpath,$(abspath $(BUILD)) $(shell $(PKG_CONFIG) --libs gnutls 2>/dev/null)
# The adapter's unit test: its objects (sanitized), the client and the core modules.
$(BUILD)/unit/test-gnutls: tests/unit/test-gnutls.c $(GNUTLS_OBJ) $(CLIENT_OBJ) $(LIBCORE)
	$(E) "  TEST    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Ikeyd/gnutls $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null) \
		-MF $@.d $(LDFLAGS) -o $@ $< $(GNUTLS_OBJ) $(CLIENT_OBJ) $(LIBCORE) $(PKG_LIBS) \
		$(shell $(PKG_CONFIG) --libs gnutls cmocka 2>/dev/null)
.PHONY: install-gnutls
install: install-gnutls
install-gnutls: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0644 $(GNUTLS_LIB) $(DESTDIR)$(LIBDIR)/libkeyd-gnutls.so.0
	ln -sf libkeyd-gnutls.so.0 $(DESTDIR)$(LIBDIR)/libkeyd-gnutls.so
	install -m 0644 keyd/gnutls/keyd-gnutls.h $(DESTDIR)$(PREFIX)/include/keyd-gnutls.h
	install -m 0644 $(BUILD)/keyd-gnutls.pc $(DESTDIR)$(LIBDIR)/pkgconfig/keyd-gnutls.pc

# ---- the in-kernel TLS 1.3 PSK client core (kernel-patches/tls13-psk), built in userspace -----
# Unit test, fuzz target and interop driver link the core (not the kernel backend) with the
# libcrypto backend keyd/handshake/tls13-crypto.c built with fixed keys and caches
# (TLS13_CRYPTO_TEST_KEYS, through tests/tls13/crypto_test.c); none of them uses keyd/core.
TLS13_SRC := $(filter-out %_kernel.c %_handshake.c,\
		$(sort $(wildcard kernel-patches/tls13-psk/*.c))) \
	tests/tls13/crypto_test.c tests/tls13/server_sim.c
TLS13_INC := -Ikernel-patches/tls13-psk -Itests/tls13
$(call obj,$(TLS13_SRC)) $(BUILD)/unit/test-tls13 $(BUILD)/tests/tls13-client: CFLAGS += $(TLS13_INC)
$(BUILD)/unit/test-tls13: tests/unit/test-tls13.c $(call obj,$(TLS13_SRC))
	$(E) "  TEST    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(call obj,$(TLS13_SRC)) \
		$$($(PKG_CONFIG) --libs libcrypto cmocka)
$(BUILD)/tests/tls13-client: tests/lib/tls13-client.c $(call obj,$(TLS13_SRC))
	$(E) "  TOOL    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(call obj,$(TLS13_SRC)) \
		$$($(PKG_CONFIG) --libs libcrypto)
# The hostile server of tests/vm/kernel-tls13-hostile.sh (broken flights for the kernel client).
$(BUILD)/tests/tls13-hostile: CFLAGS += $(TLS13_INC)
$(BUILD)/tests/tls13-hostile: tests/tls13/tls13-hostile.c $(call obj,$(TLS13_SRC))
	$(E) "  TOOL    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(call obj,$(TLS13_SRC)) \
		$$($(PKG_CONFIG) --libs libcrypto)
build-all: $(BUILD)/tests/tls13-hostile
$(call fuzz_obj,$(TLS13_SRC)) $(FUZZ_BUILD)/fuzz-tls13-server: FUZZ_CFLAGS += $(TLS13_INC)
$(FUZZ_BUILD)/fuzz-tls13-server: tests/fuzz/fuzz-tls13-server.c $(call fuzz_obj,$(TLS13_SRC))
	$(E) "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -MF $@.d -o $@ $< \
		$(call fuzz_obj,$(TLS13_SRC)) $$($(PKG_CONFIG) --libs libcrypto)
# keyd-handshaked runs SHA-384 PSK handshakes on the core: the core's client, the server in
# keyd/handshake/tls13-server.c, libcrypto through keyd/handshake/tls13-crypto.c (built
# without fixed keys; the tests below link its test build). docs/in-kernel-handshake.md.
TLS13_CORE_SRC := $(filter-out %_kernel.c %_handshake.c,$(sort $(wildcard kernel-patches/tls13-psk/*.c)))
TLS13_SERVER_SRC := keyd/handshake/tls13-server.c
$(call obj,$(HS_SRC)): CFLAGS += -Ikernel-patches/tls13-psk
$(BUILD)/keyd-handshaked: $(call obj,$(TLS13_CORE_SRC))
HS_OBJ += $(call obj,$(TLS13_CORE_SRC))
$(BUILD)/unit/test-tls13-server: CFLAGS += $(TLS13_INC) -Ikeyd/handshake
$(BUILD)/unit/test-tls13-server: tests/unit/test-tls13-server.c $(call obj,$(TLS13_SERVER_SRC) $(TLS13_SRC))
	$(E) "  TEST    $@"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(call obj,$(TLS13_SERVER_SRC) $(TLS13_SRC)) \
		$$($(PKG_CONFIG) --libs libcrypto cmocka)
$(call fuzz_obj,$(TLS13_SERVER_SRC)) $(FUZZ_BUILD)/fuzz-tls13-clienthello: \
	FUZZ_CFLAGS += $(TLS13_INC) -Ikeyd/handshake
$(FUZZ_BUILD)/fuzz-tls13-clienthello: tests/fuzz/fuzz-tls13-clienthello.c \
		$(call fuzz_obj,$(TLS13_SERVER_SRC) $(TLS13_SRC))
	$(E) "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -MF $@.d -o $@ $< \
		$(call fuzz_obj,$(TLS13_SERVER_SRC) $(TLS13_SRC)) $$($(PKG_CONFIG) --libs libcrypto)

# ---- keyd.so: the OpenSSL 3 provider (the only user of libcrypto's provider API) ----------
# Loaded into programs that are not built with sanitizers, so its objects are
# always built without them, in a directory of their own. libkeyd-client and the
# few base/core files it needs are linked in; only OSSL_provider_init is exported.
PROV_SRC := $(sort $(wildcard keyd/openssl/*.c)) $(sort $(wildcard keyd/client/*.c)) \
	keyd/base/log.c keyd/base/fileio.c keyd/base/parse.c keyd/base/der.c keyd/base/spki.c \
	keyd/core/proto.c
PROV_OBJ := $(patsubst %.c,$(BUILD)/provider/obj/%.o,$(PROV_SRC))
PROV_CFLAGS = $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -Ikeyd/openssl \
	$(shell $(PKG_CONFIG) --cflags libcrypto 2>/dev/null)
MODULESDIR ?= $(shell openssl version -m 2>/dev/null | sed -n 's/^MODULESDIR: "\(.*\)"$$/\1/p')
$(BUILD)/provider/obj/%.o: %.c
	$(E) "  CC      $< (provider)"
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(PROV_CFLAGS) -c $< -o $@
$(BUILD)/keyd.so: $(PROV_OBJ) keyd/openssl/keyd.sym
	$(E) "  LD      $@"
	$(Q)$(CC) -shared -Wl,-z,relro,-z,now -Wl,--version-script=keyd/openssl/keyd.sym \
		-Wl,--no-undefined -o $@ $(PROV_OBJ) \
		$(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null) -lpthread
build-all: $(BUILD)/keyd.so
.PHONY: install-provider
install: install-provider
install-provider: all
	@[ -n "$(MODULESDIR)" ] || { echo "cannot find the OpenSSL modules directory (openssl version -m)"; exit 1; }
	install -d $(DESTDIR)$(MODULESDIR)
	install -m 0644 $(BUILD)/keyd.so $(DESTDIR)$(MODULESDIR)/keyd.so

# ---- kernel-patches/: the series applied to Debian's linux-source-6.12, its modules built out
# of tree against linux-headers-6.12 (mk/kernel.sh) and booted in the 6.12 VM (tests/vm/kernel-*.sh,
# which make check runs with the other VM scenarios). kernel-patches/README.md has the details.
.PHONY: kernel-test
kernel-test:
ifneq ($(NO_DEPS),1)
	$(Q)./mk/deps.sh kernel
	$(Q)./mk/deps.sh vm
endif
	$(Q)rc=0; KEYD_NO_DEPS=1 ./mk/kernel.sh || rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]
	$(Q)KEYD_BUILD=$(abspath build/asan) tests/run-tests.sh vm/kernel-

# ---- early boot: dracut module 95keyd, initramfs-tools hook, handover (docs/nvme-tls-root.md) ----
DRACUTMODDIR ?= $(PREFIX)/lib/dracut/modules.d/95keyd
ITOOLSDIR ?= $(PREFIX)/share/initramfs-tools
.PHONY: install-initramfs
install: install-initramfs
install-initramfs:
	install -d $(DESTDIR)$(DRACUTMODDIR) $(DESTDIR)$(PREFIX)/lib/keyd \
		$(DESTDIR)$(ITOOLSDIR)/hooks $(DESTDIR)$(ITOOLSDIR)/scripts/local-top \
		$(DESTDIR)$(UNITDIR)/keyd-handshaked.service.d
	install -m 0755 initramfs/dracut/95keyd/module-setup.sh initramfs/dracut/95keyd/keyd-*.sh \
		$(DESTDIR)$(DRACUTMODDIR)/
	install -m 0644 initramfs/dracut/95keyd/keyd-initrd.service initramfs/keyd-boot.sh \
		$(DESTDIR)$(DRACUTMODDIR)/
	install -m 0644 initramfs/keyd-boot.sh $(DESTDIR)$(PREFIX)/lib/keyd/keyd-boot.sh
	install -m 0755 initramfs/keyd-initrd-handover.sh $(DESTDIR)$(PREFIX)/lib/keyd/keyd-initrd-handover
	install -m 0755 initramfs/initramfs-tools/hooks/keyd $(DESTDIR)$(ITOOLSDIR)/hooks/keyd
	install -m 0755 initramfs/initramfs-tools/scripts/local-top/keyd \
		$(DESTDIR)$(ITOOLSDIR)/scripts/local-top/keyd
	install -m 0644 initramfs/systemd/keyd-handshaked.service.d/keyd-initrd-handover.conf \
		$(DESTDIR)$(UNITDIR)/keyd-handshaked.service.d/
