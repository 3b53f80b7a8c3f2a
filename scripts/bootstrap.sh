#!/usr/bin/env bash
# Install everything axiomdbg needs on a fresh Debian/Ubuntu machine, idempotently:
#   - apt packages (QEMU for three arches, gdb-multiarch, clang, lld, llvm tools), with sudo when not root
#   - a virtualenv in .venv with the Python package and its test extras
# Re-running it when everything is present costs about a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PKGS=(qemu-system-x86 qemu-system-arm qemu-system-misc gdb-multiarch clang lld llvm python3-venv make)
# command each package provides, to skip apt entirely when all are present
need_apt=0
for cmd in qemu-system-x86_64 qemu-system-aarch64 qemu-system-riscv64 gdb-multiarch clang ld.lld \
           llvm-objcopy llvm-symbolizer make; do
    command -v "$cmd" >/dev/null 2>&1 || { need_apt=1; break; }
done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt=1

if [ "$need_apt" = 1 ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    echo "bootstrap: installing apt packages: ${APT_PKGS[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PKGS[@]}" >/dev/null
fi

VENV="$ROOT/.venv"
STAMP="$VENV/.axiomdbg-installed"
if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV"
    python3 -m venv "$VENV"
fi
# reinstall when pyproject.toml changed since the last install
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    echo "bootstrap: installing Python packages (first run takes a few minutes)"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$STAMP"
fi
echo "bootstrap: ready ($("$VENV/bin/python" --version), $(clang --version | head -1))"
