# riscv64: RV64IMAC, S-mode under OpenSBI, medany code model.
#
# -mcmodel=medany makes every symbol reference PC-relative (auipc), which is
# what lets the early boot code (boot.c) run at the physical load address
# before paging is on although the kernel is linked in the higher half.
# -fno-jump-tables keeps switch statements from producing tables of absolute
# (higher-half) addresses that the physical-address code could not use.
SATP ?= sv39
ifeq ($(filter $(SATP),sv39 sv48 sv57),)
$(error SATP must be sv39, sv48 or sv57 (got '$(SATP)'))
endif
ARCH_CFLAGS := --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 \
	-mcmodel=medany -mno-relax -fno-jump-tables
ARCH_DEFS := -DRV_SATP_DEFAULT_$(shell echo $(SATP) | tr a-z A-Z)=1 -DRV_SATP_DEFAULT_NAME=\"$(SATP)\"
ARCH_LDFLAGS := -m elf64lriscv
ARCH_LDSCRIPT := $(KDIR)/arch/riscv64/linker.ld
ARCH_USER_CFLAGS := --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany -mno-relax
