# axiom userspace: a minimal libc, the programs in bin/, and the initramfs.
#
# Included by kernel/Makefile, which sets ARCH, CC, LD, USER_BUILD, INITRAMFS,
# KDIR, ROOT and (from the arch fragment) ARCH_USER_CFLAGS. It can also be
# used on its own, without a kernel:
#     make -f kernel/user/user.mk ARCH=aarch64 user
#
# Every program is a static, non-PIE ELF64 executable (ET_EXEC) linked at
# 0x400000 with user.ld: text+rodata in one R-X segment, data+bss in one RW-
# segment, 64 KiB aligned so that the aarch64 64K-granule kernel can map them
# with W^X. Userspace includes only kernel/include/uapi and libc/include.
# All code is built for general-purpose registers only (no FP/SIMD state),
# the same way on every arch.
#
# Outputs: $(USER_BUILD)/{obj,bin,bpf,root}/ and $(INITRAMFS). Nothing else.

ifndef KDIR
# standalone use
ARCH       ?= riscv64
ROOT       := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
KDIR       := $(ROOT)/kernel
USER_BUILD ?= $(ROOT)/build/$(ARCH)-user
INITRAMFS  ?= $(USER_BUILD)/initramfs.cpio
CC         := clang
LD         := ld.lld
.DEFAULT_GOAL := user
endif

# kernel/Makefile defines its own default goal after including us.
ifeq ($(.DEFAULT_GOAL),)
.DEFAULT_GOAL := all
endif

USER_SRC := $(KDIR)/user

USER_TARGET_x86_64  := --target=x86_64-unknown-elf -mgeneral-regs-only
USER_TARGET_aarch64 := --target=aarch64-none-elf -mgeneral-regs-only
USER_TARGET_riscv64 := --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 \
	-mcmodel=medany -mno-relax
USER_TARGET := $(USER_TARGET_$(ARCH))
ifeq ($(USER_TARGET),)
$(error user.mk: unsupported ARCH '$(ARCH)')
endif

USER_CFLAGS := $(USER_TARGET) $(ARCH_USER_CFLAGS) -std=c11 \
	-ffreestanding -nostdlib -nostdinc -fno-pic -fno-pie -fno-stack-protector \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-ffunction-sections -fdata-sections -O2 -g -Wall -Wextra -Werror \
	-isystem $(shell $(CC) -print-resource-dir)/include \
	-I$(USER_SRC)/libc/include -I$(USER_SRC)/libc/arch/$(ARCH) -I$(KDIR)/include/uapi \
	-DAXIOM_ARCH=\"$(ARCH)\" \
	-ffile-prefix-map=$(ROOT)/= -fdebug-compilation-dir=.
# (the prefix map keeps checkout paths out of DWARF, as in kernel/Makefile;
# clang 14's assembler ignores it, so .S files are assembled from $(ROOT))
USER_LDFLAGS := -static -nostdlib --no-dynamic-linker -z max-page-size=65536 \
	-z noexecstack --gc-sections -T $(USER_SRC)/user.ld

USER_OBJ := $(USER_BUILD)/obj
USER_BIN := $(USER_BUILD)/bin
USER_ROOT := $(USER_BUILD)/root

USER_LIBC_SRCS := $(wildcard $(USER_SRC)/libc/*.c) $(wildcard $(USER_SRC)/libc/arch/$(ARCH)/*.S)
USER_LIBC_OBJS := $(patsubst $(USER_SRC)/%,$(USER_OBJ)/%.o,$(USER_LIBC_SRCS))
USER_LIBC      := $(USER_OBJ)/libc.a

USER_PROGS := $(basename $(notdir $(wildcard $(USER_SRC)/bin/*.c)))
USER_ELFS  := $(addprefix $(USER_BIN)/,$(USER_PROGS))
USER_FILES := $(shell find $(USER_SRC)/rootfs -type f 2>/dev/null)

# eBPF demo programs (bpf/*.bpf.c): compiled for the bpf target, the same
# objects on every arch, installed as /lib/bpf/<name>.o and loaded at run time
# by libbpf (libc/libbpf.c). -g0: the loader reads no BTF.
USER_BPF_SRCS := $(wildcard $(USER_SRC)/bpf/*.bpf.c)
USER_BPF_OBJS := $(patsubst $(USER_SRC)/bpf/%.bpf.c,$(USER_BUILD)/bpf/%.o,$(USER_BPF_SRCS))
USER_BPF_CFLAGS := -target bpf -O2 -g0 -std=c11 -ffreestanding -nostdinc -Wall -Wextra -Werror \
	-isystem $(shell $(CC) -print-resource-dir)/include -I$(KDIR)/include/uapi

$(USER_BUILD)/bpf/%.o: $(USER_SRC)/bpf/%.bpf.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_BPF_CFLAGS) -MMD -MP -c $< -o $@

$(USER_OBJ)/%.c.o: $(USER_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

$(USER_OBJ)/%.S.o: $(USER_SRC)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -D__ASSEMBLY__ -MM -MP -MT $@ -MF $(@:.o=.d) $<
	cd $(ROOT) && $(CC) $(USER_CFLAGS) -D__ASSEMBLY__ -c $(patsubst $(ROOT)/%,%,$<) -o $@

$(USER_LIBC): $(USER_LIBC_OBJS)
	@rm -f $@
	llvm-ar rcs $@ $^

# crt0 comes from libc.a: _start is the entry symbol, so the linker pulls it in.
$(USER_BIN)/%: $(USER_OBJ)/bin/%.c.o $(USER_LIBC) $(USER_SRC)/user.ld
	@mkdir -p $(dir $@)
	$(LD) $(USER_LDFLAGS) -e _start -u _start -o $@ $< $(USER_LIBC)

# The initramfs tree: /bin/<programs>, the files under rootfs/, an empty /tmp.
# Programs go in without debug sections (debuggers use $(USER_BIN)/*).
$(INITRAMFS): $(USER_ELFS) $(USER_BPF_OBJS) $(USER_FILES) $(ROOT)/scripts/mkcpio.py
	@rm -rf $(USER_ROOT)
	@mkdir -p $(USER_ROOT)/bin $(USER_ROOT)/tmp $(USER_ROOT)/lib/bpf $(dir $@)
	for p in $(USER_PROGS); do llvm-objcopy --strip-debug $(USER_BIN)/$$p $(USER_ROOT)/bin/$$p || exit 1; done
	for o in $(USER_BPF_OBJS); do cp $$o $(USER_ROOT)/lib/bpf/ || exit 1; done
	cp -R $(USER_SRC)/rootfs/. $(USER_ROOT)/
	python3 $(ROOT)/scripts/mkcpio.py $@ $(USER_ROOT)

.PHONY: user
user: $(INITRAMFS)

.SECONDARY: $(USER_LIBC_OBJS) $(patsubst %,$(USER_OBJ)/bin/%.c.o,$(USER_PROGS))

-include $(USER_LIBC_OBJS:.o=.d) $(patsubst %,$(USER_OBJ)/bin/%.c.d,$(USER_PROGS)) $(USER_BPF_OBJS:.o=.d)
