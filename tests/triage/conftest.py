from __future__ import annotations

import pytest

from .helpers import ARCHES, build_fixture, have_toolchain


@pytest.fixture(scope="session")
def fixture_elfs(tmp_path_factory) -> dict[tuple[str, int], "Path"]:
    """The fixture program built for every arch, DWARF 4 and 5: {(arch, version): elf}."""
    if not have_toolchain():
        pytest.skip("clang, ld.lld, llvm-symbolizer and llvm-objdump are needed")
    d = tmp_path_factory.mktemp("symbolize")
    return {(a, v): build_fixture(a, d, v) for a in ARCHES for v in (4, 5)}


@pytest.fixture(scope="session")
def elf5(fixture_elfs):
    return {a: fixture_elfs[(a, 5)] for a in ARCHES}
