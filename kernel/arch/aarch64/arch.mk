# aarch64: ARMv8.0-A (cortex-a72) at EL1 on QEMU virt, 48-bit VA, TTBR0/TTBR1.
#
# GRANULE=4k|16k|64k picks the translation granule (Arm ARM D8.2 "Translation
# table walk", TCR_EL1.TG0/TG1); PAGE_SIZE follows it (asm/config.h reads
# AXIOM_GRANULE_SHIFT). The linker script aligns sections to the same size
# through the AXIOM_PAGE_ALIGN symbol given with --defsym.
#
# -mgeneral-regs-only: the kernel never touches FP/SIMD registers, so traps
# need not save them (and clang may not use them for memcpy-like code).
# -mstrict-align: the early boot code (early.c) runs with the MMU off, where
# every data access is Device-nGnRnE and an unaligned access faults (Arm ARM
# D8.2.12 "The effects of disabling a stage of address translation").
GRANULE ?= 4k
ifeq ($(filter $(GRANULE),4k 16k 64k),)
$(error GRANULE must be 4k, 16k or 64k (got '$(GRANULE)'))
endif
AARCH64_GRANULE_SHIFT_4k  := 12
AARCH64_GRANULE_SHIFT_16k := 14
AARCH64_GRANULE_SHIFT_64k := 16
AARCH64_GRANULE_SHIFT := $(AARCH64_GRANULE_SHIFT_$(GRANULE))

ARCH_CFLAGS := --target=aarch64-none-elf -mcpu=cortex-a72 -mgeneral-regs-only -mstrict-align
ARCH_DEFS := -DAXIOM_GRANULE_SHIFT=$(AARCH64_GRANULE_SHIFT) -DAXIOM_GRANULE_NAME=\"$(GRANULE)\"
ARCH_LDFLAGS := -m aarch64elf --defsym=AXIOM_PAGE_ALIGN=$(shell echo $$((1 << $(AARCH64_GRANULE_SHIFT))))
ARCH_LDSCRIPT := $(KDIR)/arch/aarch64/linker.ld
ARCH_USER_CFLAGS := --target=aarch64-none-elf -mcpu=cortex-a72 -mgeneral-regs-only
