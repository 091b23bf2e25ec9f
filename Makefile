# thinvmm — top-level build. `make` builds everything; `make test` and
# `make run` first install what they need (Debian packages, guest kernel).
.DEFAULT_GOAL := all
SHELL := /bin/bash

B := build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
KVER = $(shell cat $(B)/kernel/VERSION 2>/dev/null)
KDIR = /lib/modules/$(KVER)/build

WARN := -Wall -Wextra -Werror
# The VMM: freestanding, position independent, no SSE (guest FPU state is never touched).
VMM_CFLAGS := -std=gnu11 $(WARN) -O2 -g -ffreestanding -fno-stack-protector -fPIE \
	-fvisibility=hidden -mno-red-zone -mgeneral-regs-only -fcf-protection=branch \
	-fno-asynchronous-unwind-tables -fno-common -Ithinvmm/include -Ithinvmm \
	-DTVMM_VERSION='"$(VERSION)"'
VMM_LDFLAGS := -nostdlib -static-pie -Wl,-T,thinvmm/link.ld -Wl,--no-dynamic-linker \
	-Wl,-z,noexecstack -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments

VMM_C := $(wildcard thinvmm/core/*.c thinvmm/svm/*.c thinvmm/vmx/*.c thinvmm/lib/*.c thinvmm/tpm/*.c \
	thinvmm/iommu/*.c)
VMM_S := $(wildcard thinvmm/core/*.S thinvmm/svm/*.S thinvmm/vmx/*.S)
VMM_HDR := $(wildcard thinvmm/include/thinvmm/*.h thinvmm/*/*.h thinvmm/*/*.inc thinvmm/tpm/ext/*.h)

# The VMM's TPM code (thinvmm/tpm/) uses tpm2-tss's MU library and mbedtls's SHA-256, built
# freestanding with the VMM's flags from Debian's source packages (thinvmm/tpm/fetch-sources.sh
# unpacks them into build/src/). Their logging is compiled out (MAXLOGLEVEL=0).
SRC := $(B)/src
TSS_MU := base-types tpm2b-types tpma-types tpml-types tpms-types tpmt-types tpmu-types
EXT_OBJ := $(TSS_MU:%=$(B)/ext/tss2-mu/%.o) $(B)/ext/mbedtls/sha256.o $(B)/ext/mbedtls/platform_util.o
EXT_CFLAGS := -isystem $(SRC)/tpm2-tss/include/tss2 -isystem $(SRC)/tpm2-tss/include -I$(SRC)/tpm2-tss/src \
	-Ithinvmm/tpm/ext -DMAXLOGLEVEL=0 -isystem $(SRC)/mbedtls/include \
	-DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"'
VMM_OBJ := $(patsubst %,$(B)/%.o,$(VMM_C) $(VMM_S)) $(EXT_OBJ)
$(B)/thinvmm/tpm/%.c.o: VMM_CFLAGS += $(EXT_CFLAGS)
$(B)/thinvmm/tpm/%.c.o: | $(SRC)/.fetched

$(SRC)/.fetched: thinvmm/tpm/fetch-sources.sh
	thinvmm/tpm/fetch-sources.sh $(SRC)
	@touch $@
$(SRC)/tpm2-tss/src/tss2-mu/%.c $(SRC)/mbedtls/library/%.c: | $(SRC)/.fetched ;

$(B)/ext/tss2-mu/%.o: $(SRC)/tpm2-tss/src/tss2-mu/%.c Makefile | $(SRC)/.fetched
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(VMM_CFLAGS) $(EXT_CFLAGS) -Wno-deprecated-declarations -c $< -o $@
$(B)/ext/mbedtls/%.o: $(SRC)/mbedtls/library/%.c thinvmm/tpm/ext/mbedtls_config.h Makefile | $(SRC)/.fetched
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(VMM_CFLAGS) $(EXT_CFLAGS) -Wno-deprecated-declarations -c $< -o $@

GUEST_CFLAGS := -std=gnu11 $(WARN) -O2 -static -Ithinvmm/include -Iloader/linux

.PHONY: FORCE all vmm module guest unit policy attest fuzz test run deps kernel bench format format-check clean
all: vmm module guest unit policy attest

vmm: $(B)/thinvmm/thinvmm.bin

# The version is compiled in: rebuild when it changes, not only when a source does.
$(B)/thinvmm/VERSION: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:

$(B)/thinvmm/%.c.o: thinvmm/%.c $(VMM_HDR) Makefile $(B)/thinvmm/VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(VMM_CFLAGS) -c $< -o $@

$(B)/thinvmm/%.S.o: thinvmm/%.S $(VMM_HDR) Makefile $(B)/thinvmm/VERSION
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@gcc $(VMM_CFLAGS) -c $< -o $@

$(B)/thinvmm/thinvmm.elf: $(VMM_OBJ) thinvmm/link.ld
	@echo "  LD      $@"
	@gcc $(VMM_CFLAGS) $(VMM_LDFLAGS) $(VMM_OBJ) -o $@
	@# Self-relocation handles R_X86_64_RELATIVE only; refuse anything else.
	@if readelf -rW $@ | awk '/^[0-9a-f]+ /{print $$3}' | grep -qv R_X86_64_RELATIVE; then \
		echo "error: $@ has relocations other than R_X86_64_RELATIVE" >&2; \
		readelf -rW $@ | grep -v R_X86_64_RELATIVE >&2; rm -f $@; exit 1; fi

$(B)/thinvmm/thinvmm.bin: $(B)/thinvmm/thinvmm.elf
	objcopy -O binary $< $@

# The Linux loader, built from a copy so the source tree stays clean of Kbuild output.
$(B)/kernel/VERSION:
	tests/env/kernel.sh

module: $(B)/guest/thinvmm.ko
$(B)/guest/thinvmm.ko: $(B)/thinvmm/thinvmm.bin $(wildcard loader/linux/*.[chS] loader/linux/Kbuild loader/linux/uapi/*.h) $(VMM_HDR) | $(B)/kernel/VERSION
	@mkdir -p $(B)/loader $(B)/guest
	cp -r loader/linux/. $(B)/loader/
	$(MAKE) -C $(KDIR) M=$(abspath $(B)/loader) TVMM_INCLUDE=$(abspath thinvmm/include) \
		TVMM_IMAGE=$(abspath $(B)/thinvmm/thinvmm.bin) modules
	cp $(B)/loader/thinvmm.ko $@

$(B)/guest/tvmm_probe.ko: $(wildcard tests/guest/probe/*.c tests/guest/probe/Kbuild) $(VMM_HDR) | $(B)/kernel/VERSION
	@mkdir -p $(B)/probe $(B)/guest
	cp -r tests/guest/probe/. $(B)/probe/
	$(MAKE) -C $(KDIR) M=$(abspath $(B)/probe) TVMM_INCLUDE=$(abspath thinvmm/include) modules
	cp $(B)/probe/tvmm_probe.ko $@

$(B)/guest/tvmm_dma.ko: $(wildcard tests/guest/edu/*.c tests/guest/edu/Kbuild) $(VMM_HDR) | $(B)/kernel/VERSION
	@mkdir -p $(B)/edu $(B)/guest
	cp -r tests/guest/edu/. $(B)/edu/
	$(MAKE) -C $(KDIR) M=$(abspath $(B)/edu) TVMM_INCLUDE=$(abspath thinvmm/include) modules
	cp $(B)/edu/tvmm_dma.ko $@

$(B)/guest/thinvmm-ctl: loader/linux/thinvmm-ctl.c thinvmm/include/thinvmm/abi.h loader/linux/uapi/thinvmm_ioctl.h \
	loader/linux/uapi/thinvmm_tpmlog.h
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) $< -o $@

$(B)/guest/tvmm-sigcheck: tests/guest/sigcheck.c thinvmm/include/thinvmm/abi.h
	@mkdir -p $(dir $@)
	gcc $(GUEST_CFLAGS) $< -o $@

guest: $(B)/guest/thinvmm-ctl $(B)/guest/tvmm-sigcheck $(B)/guest/tvmm_probe.ko $(B)/guest/tvmm_dma.ko \
	$(B)/guest/thinvmm-agent $(patsubst policy/%.pol,$(B)/guest/%.bin,$(wildcard policy/*.pol))

# The attestation agent and verifier (attest/Makefile). The agent runs in the guest too,
# dynamically linked: tests/env/initramfs.sh packs its shared libraries and TCTI modules.
attest:
	$(MAKE) -C attest
$(B)/guest/thinvmm-agent: attest
	@mkdir -p $(dir $@)
	@cmp -s $(B)/attest/thinvmm-agent $@ || cp $(B)/attest/thinvmm-agent $@

# The compiled policies go into the guest too (/opt/thinvmm/*.bin).
$(B)/guest/%.bin: $(B)/policy/%.bin
	@mkdir -p $(dir $@)
	cp $< $@

unit:
	$(MAKE) -C tests/unit

# The policy compiler (host tool) and every policy/*.pol compiled with it.
POL_CFLAGS := -std=gnu11 $(WARN) -O2 -Ithinvmm/include -Ithinvmm
POL_BIN := $(patsubst policy/%.pol,$(B)/policy/%.bin,$(wildcard policy/*.pol))
policy: $(B)/policy/thinvmm-policy $(POL_BIN)
$(B)/policy/thinvmm-policy: $(wildcard policy/*.c policy/*.h) thinvmm/core/polcheck.c thinvmm/core/polcheck.h thinvmm/include/thinvmm/policy.h
	@mkdir -p $(dir $@)
	gcc $(POL_CFLAGS) $(filter %.c,$^) -o $@ -lmbedcrypto
$(B)/policy/%.bin: policy/%.pol $(B)/policy/thinvmm-policy
	$(B)/policy/thinvmm-policy compile $< -o $@

fuzz:
	$(MAKE) -C tests/fuzz

deps:
	tests/env/deps.sh
	tests/env/kernel.sh

test: deps
	$(MAKE) all
	tests/run.sh

run: deps
	$(MAKE) all
	tests/e2e/demo.sh

bench: deps
	$(MAKE) all
	bench/run.sh
	bench/run-vmx.sh
	bench/run-dma.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' | grep -v '^tests/fuzz/corpus')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf $(B)/policy $(B)/thinvmm $(B)/ext $(B)/loader $(B)/probe $(B)/edu $(B)/guest $(B)/attest $(B)/unit $(B)/fuzz $(B)/e2e $(B)/bench
