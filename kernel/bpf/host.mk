# kernel/bpf/host.mk - host builds of kernel/bpf, and the list of kernel objects.
#
#   make -f kernel/bpf/host.mk            build/host/libaxiombpf.so (+ ASan variants)
#   make -f kernel/bpf/host.mk check-freestanding   compile every kernel source
#                                          for x86_64, aarch64 and riscv64
#
# The kernel Makefile includes this file and uses BPF_KERNEL_SRCS (paths relative
# to the repository root); the host-only files are host_env.c and host_api.c.

BPF_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
BPF_ROOT := $(abspath $(BPF_DIR)/../..)
BPF_ALL_SRCS := $(sort $(wildcard $(BPF_DIR)/*.c))
BPF_HOST_ONLY := $(BPF_DIR)/host_env.c $(BPF_DIR)/host_api.c
BPF_KERNEL_SRCS := $(filter-out $(BPF_HOST_ONLY),$(BPF_ALL_SRCS))
BPF_HDRS := $(wildcard $(BPF_DIR)/*.h) $(BPF_ROOT)/kernel/include/uapi/axiom/bpf.h

BPF_HOST_OUT ?= $(BPF_ROOT)/build/host
BPF_CC ?= clang
BPF_HOST_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O2 -fPIC -DBPF_HOST \
	-fno-omit-frame-pointer -I$(BPF_ROOT)/kernel/include -I$(BPF_DIR)

ifeq ($(origin BPF_HOST_MAIN),undefined)
BPF_HOST_MAIN := 1
.PHONY: bpf-host bpf-check-freestanding
bpf-host: $(BPF_HOST_OUT)/libaxiombpf.so $(BPF_HOST_OUT)/libaxiombpf-asan.so $(BPF_HOST_OUT)/bpf-fuzz-asan
endif

$(BPF_HOST_OUT)/libaxiombpf.so: $(BPF_ALL_SRCS) $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(BPF_CC) $(BPF_HOST_CFLAGS) -shared -o $@ $(BPF_ALL_SRCS)

# ASan + UBSan build: for a Python process, preload the ASan runtime
# (clang -print-file-name=libclang_rt.asan-x86_64.so).
$(BPF_HOST_OUT)/libaxiombpf-asan.so: $(BPF_ALL_SRCS) $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(BPF_CC) $(BPF_HOST_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
		-shared-libsan -shared -o $@ $(BPF_ALL_SRCS)

# Fuzz driver: reads programs, verifies each in both profiles and runs the
# accepted ones unchecked, so ASan sees any access the verifier let through.
$(BPF_HOST_OUT)/bpf-fuzz-asan: $(BPF_ALL_SRCS) $(BPF_HDRS) $(BPF_ROOT)/tests/bpf/fuzz_main.c
	@mkdir -p $(dir $@)
	$(BPF_CC) $(BPF_HOST_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $@ $(BPF_ALL_SRCS) $(BPF_ROOT)/tests/bpf/fuzz_main.c

# Freestanding compile of the kernel sources for every architecture, with a
# stub <kernel.h> that declares exactly what the kernel promises.
BPF_FS_OUT := $(BPF_ROOT)/build/bpf-freestanding
BPF_FS_FLAGS := -std=c11 -ffreestanding -nostdlib -fno-pic -Wall -Wextra -Werror -g -O2 \
	-fno-omit-frame-pointer -I$(BPF_ROOT)/kernel/include -I$(BPF_DIR) \
	-I$(BPF_ROOT)/fixtures/bpf/kernel_stub
BPF_TARGET_x86_64 := -target x86_64-unknown-elf -mno-red-zone -mcmodel=kernel
BPF_TARGET_aarch64 := -target aarch64-none-elf -mgeneral-regs-only
BPF_TARGET_riscv64 := -target riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany

define BPF_FS_RULE
$(BPF_FS_OUT)/$(1)/%.o: $(BPF_DIR)/%.c $(BPF_HDRS)
	@mkdir -p $$(dir $$@)
	$(BPF_CC) $(BPF_FS_FLAGS) $(BPF_TARGET_$(1)) -c $$< -o $$@
endef
$(foreach a,x86_64 aarch64 riscv64,$(eval $(call BPF_FS_RULE,$(a))))

bpf-check-freestanding: $(foreach a,x86_64 aarch64 riscv64,$(patsubst $(BPF_DIR)/%.c,$(BPF_FS_OUT)/$(a)/%.o,$(BPF_KERNEL_SRCS)))
check-freestanding: bpf-check-freestanding
