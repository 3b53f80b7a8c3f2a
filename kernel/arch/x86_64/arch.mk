# x86_64 port: build flags. Included by kernel/Makefile.
#
# The kernel runs in the top 2 GiB of the address space (-mcmodel=kernel lets
# clang use sign-extended 32-bit absolute addresses there). No red zone: an
# interrupt taken in kernel mode pushes its frame right below %rsp, which would
# clobber the 128 bytes the SysV ABI lets leaf functions use (Intel SDM vol. 3,
# 6.14.2: no stack switch when the privilege level does not change). No SSE/x87:
# the kernel never saves FPU state, so it must never touch it.
ARCH_CFLAGS   := --target=x86_64-unknown-elf -mno-red-zone -mno-sse -mno-sse2 -mno-mmx \
	-mno-80387 -mcmodel=kernel -mno-omit-leaf-frame-pointer
ARCH_LDFLAGS  :=
ARCH_LDSCRIPT := $(KDIR)/arch/x86_64/linker.ld
ARCH_DEFS     :=
# Userspace: the kernel saves no FPU/SSE state across context switches, so
# user programs are compiled without SSE/x87 too.
ARCH_USER_CFLAGS := --target=x86_64-unknown-elf -mno-sse -mno-sse2 -mno-mmx -mno-80387
