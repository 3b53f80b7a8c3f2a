"""Kernel types from DWARF, and typed views of kernel objects in target memory.

Nothing here hard-codes a struct offset: every layout comes from the kernel
ELF's DWARF (read with pyelftools), so a change to a kernel struct needs no
change here. The model follows drgn's: a :class:`TypeIndex` answers questions
about types and global variables; an :class:`Object` is a typed value at an
address (or an immediate value) that can be dereferenced, indexed and walked
member by member, reading memory only through the ``read_virt(addr, size)``
callable it was given.

Example::

    types = TypeIndex.from_elf("build/riscv64-embedded/axiom.elf")
    layout = Object.variable(types, target.read_virt, "axiom_layout")
    print(layout.page_size.value_())
    for p in list_for_each(...):
        ...
"""

from __future__ import annotations

import struct as _struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator

from .errors import AxiomError

ReadVirt = Callable[[int, int], bytes]


class DwarfError(AxiomError):
    """The kernel ELF lacks DWARF, or a requested type/member/variable is not in it."""


# ---------------------------------------------------------------------------
# Type model
# ---------------------------------------------------------------------------

@dataclass
class Type:
    """A resolved C type. `kind` is one of: base, pointer, struct, union, enum,
    array, typedef, function, void, const, volatile."""

    kind: str
    name: str | None = None
    size: int = 0
    target: "Type | None" = None          # pointer/array/typedef/const target
    count: int | None = None              # array element count (None = flexible)
    encoding: str | None = None           # base types: "signed", "unsigned", "bool", "float", "char"
    members: list["Member"] = field(default_factory=list)
    enumerators: dict[str, int] = field(default_factory=dict)

    def strip(self) -> "Type":
        """Follow typedefs and qualifiers to the underlying type."""
        t = self
        seen = 0
        while t.kind in ("typedef", "const", "volatile") and t.target is not None and seen < 64:
            t = t.target
            seen += 1
        return t

    @property
    def sizeof(self) -> int:
        t = self.strip()
        if t.kind == "array":
            return (t.count or 0) * (t.target.sizeof if t.target else 0)
        return t.size

    def member(self, name: str) -> "Member":
        t = self.strip()
        if t.kind not in ("struct", "union"):
            raise DwarfError(f"type {self.spelling()} has no members")
        for m in t.members:
            if m.name == name:
                return m
        # members of anonymous structs/unions are reachable by name too
        for m in t.members:
            if m.name is None and m.type.strip().kind in ("struct", "union"):
                try:
                    inner = m.type.member(name)
                except DwarfError:
                    continue
                return Member(inner.name, inner.type, m.offset + inner.offset, inner.bit_size, inner.bit_offset)
        raise DwarfError(f"{t.spelling()} has no member {name!r}")

    def offsetof(self, path: str) -> int:
        """Offset of a dotted member path such as 'ctx.sp' or 'regs[3]'."""
        off = 0
        t: Type = self
        for part in path.split("."):
            idx = None
            if "[" in part:
                part, rest = part.split("[", 1)
                idx = int(rest.rstrip("]"), 0)
            m = t.member(part)
            off += m.offset
            t = m.type
            if idx is not None:
                at = t.strip()
                if at.kind != "array" or at.target is None:
                    raise DwarfError(f"member {part!r} is not an array")
                off += idx * at.target.sizeof
                t = at.target
        return off

    def spelling(self) -> str:
        if self.kind in ("struct", "union", "enum"):
            return f"{self.kind} {self.name or '<anonymous>'}"
        if self.kind == "pointer":
            return f"{self.target.spelling() if self.target else 'void'} *"
        if self.kind == "array":
            return f"{self.target.spelling() if self.target else '?'}[{self.count if self.count is not None else ''}]"
        if self.kind in ("const", "volatile"):
            return f"{self.kind} {self.target.spelling() if self.target else 'void'}"
        return self.name or self.kind


@dataclass
class Member:
    name: str | None
    type: Type
    offset: int
    bit_size: int | None = None
    bit_offset: int | None = None     # from the start of the storage unit at `offset`, LSB first


@dataclass
class Variable:
    name: str
    address: int
    type: Type


VOID = Type("void", "void", 0)


class TypeIndex:
    """Every named type and global variable of one ELF's DWARF.

    Built once (a few hundred milliseconds for the axiom kernel); lookups are
    dictionary accesses. Types are resolved lazily and memoised by DIE offset,
    so cyclic types (a struct with a pointer to itself) are safe."""

    def __init__(self, path: str | Path):
        from elftools.elf.elffile import ELFFile

        self.path = Path(path)
        try:
            self._fh = open(self.path, "rb")
            self.elf = ELFFile(self._fh)
        except FileNotFoundError:
            raise DwarfError(f"kernel ELF {self.path} does not exist") from None
        except Exception as e:
            raise DwarfError(f"{self.path} is not a valid ELF file: {e}") from None
        if not self.elf.has_dwarf_info():
            raise DwarfError(f"{self.path} has no DWARF debug information (build with -g)")
        self.little_endian = self.elf.little_endian
        self.pointer_size = 8 if self.elf.elfclass == 64 else 4
        self._resolved: dict[int, Type] = {}
        self._named: dict[tuple[str, str], object] = {}   # (kind, name) -> DIE
        self._vars: dict[str, object] = {}
        self._symbols: dict[str, int] | None = None
        self._index()

    @classmethod
    def from_elf(cls, path: str | Path) -> "TypeIndex":
        return cls(path)

    # -- indexing --------------------------------------------------------
    def _index(self) -> None:
        try:
            dwarf = self.elf.get_dwarf_info()
            for cu in dwarf.iter_CUs():
                top = cu.get_top_DIE()
                for die in top.iter_children():
                    self._index_die(die)
        except Exception as e:  # malformed DWARF
            raise DwarfError(f"cannot read DWARF of {self.path}: {e}") from None

    def _index_die(self, die) -> None:
        tag = die.tag
        name_attr = die.attributes.get("DW_AT_name")
        name = name_attr.value.decode() if name_attr else None
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type"):
            kind = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
                    "DW_TAG_enumeration_type": "enum"}[tag]
            if name and "DW_AT_declaration" not in die.attributes:
                self._named.setdefault((kind, name), die)
        elif tag in ("DW_TAG_typedef", "DW_TAG_base_type"):
            if name:
                self._named.setdefault(("typedef" if tag == "DW_TAG_typedef" else "base", name), die)
        elif tag == "DW_TAG_variable" and name:
            # keep the defining DIE (the one with a location)
            if "DW_AT_location" in die.attributes or name not in self._vars:
                self._vars[name] = die

    # -- resolution ------------------------------------------------------
    def _type_of(self, die) -> Type:
        attr = die.attributes.get("DW_AT_type")
        if attr is None:
            return VOID
        return self._resolve(die.get_DIE_from_attribute("DW_AT_type"))

    def _resolve(self, die) -> Type:
        key = die.offset
        if key in self._resolved:
            return self._resolved[key]
        tag = die.tag
        name_attr = die.attributes.get("DW_AT_name")
        name = name_attr.value.decode() if name_attr else None
        size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
        if tag == "DW_TAG_base_type":
            enc = die.attributes["DW_AT_encoding"].value if "DW_AT_encoding" in die.attributes else 0
            encoding = {0x02: "bool", 0x04: "float", 0x05: "signed", 0x06: "signed", 0x07: "unsigned",
                        0x08: "unsigned"}.get(enc, "unsigned")
            if enc in (0x06, 0x08):
                encoding = "char" if enc == 0x06 else "unsigned"
            t = Type("base", name, size, encoding=encoding)
            self._resolved[key] = t
            return t
        if tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            kind = "struct" if tag == "DW_TAG_structure_type" else "union"
            if "DW_AT_declaration" in die.attributes and name and (kind, name) in self._named \
                    and self._named[(kind, name)].offset != die.offset:
                t = self._resolve(self._named[(kind, name)])
                self._resolved[key] = t
                return t
            t = Type(kind, name, size)
            self._resolved[key] = t        # before members: breaks cycles
            for child in die.iter_children():
                if child.tag != "DW_TAG_member":
                    continue
                mname_attr = child.attributes.get("DW_AT_name")
                mname = mname_attr.value.decode() if mname_attr else None
                off = 0
                loc = child.attributes.get("DW_AT_data_member_location")
                if loc is not None:
                    off = loc.value if isinstance(loc.value, int) else _const_expr(loc.value)
                bit_size = child.attributes["DW_AT_bit_size"].value if "DW_AT_bit_size" in child.attributes else None
                bit_offset = None
                if bit_size is not None:
                    if "DW_AT_data_bit_offset" in child.attributes:
                        dbo = child.attributes["DW_AT_data_bit_offset"].value
                        off, bit_offset = dbo // 8, dbo % 8
                    elif "DW_AT_bit_offset" in child.attributes:  # DWARF 2/3 big-endian style
                        storage = child.attributes.get("DW_AT_byte_size")
                        ssize = storage.value if storage else 4
                        bit_offset = ssize * 8 - child.attributes["DW_AT_bit_offset"].value - bit_size
                t.members.append(Member(mname, self._type_of(child), off, bit_size, bit_offset))
            return t
        if tag == "DW_TAG_enumeration_type":
            t = Type("enum", name, size, encoding="signed")
            self._resolved[key] = t
            for child in die.iter_children():
                if child.tag == "DW_TAG_enumerator":
                    t.enumerators[child.attributes["DW_AT_name"].value.decode()] = \
                        child.attributes["DW_AT_const_value"].value
            return t
        if tag == "DW_TAG_pointer_type":
            t = Type("pointer", None, size or self.pointer_size)
            self._resolved[key] = t
            t.target = self._type_of(die)
            return t
        if tag == "DW_TAG_array_type":
            t = Type("array", None, 0)
            self._resolved[key] = t
            t.target = self._type_of(die)
            dims = []
            for child in die.iter_children():
                if child.tag == "DW_TAG_subrange_type":
                    if "DW_AT_count" in child.attributes:
                        dims.append(child.attributes["DW_AT_count"].value)
                    elif "DW_AT_upper_bound" in child.attributes:
                        dims.append(child.attributes["DW_AT_upper_bound"].value + 1)
                    else:
                        dims.append(None)
            # multi-dimensional arrays become arrays of arrays
            inner = t.target
            for d in reversed(dims[1:]):
                inner = Type("array", None, 0, target=inner, count=d)
            t.target = inner
            t.count = dims[0] if dims else None
            return t
        if tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type",
                   "DW_TAG_atomic_type"):
            kind = {"DW_TAG_typedef": "typedef", "DW_TAG_const_type": "const",
                    "DW_TAG_volatile_type": "volatile"}.get(tag, "const")
            t = Type(kind, name, 0)
            self._resolved[key] = t
            t.target = self._type_of(die)
            t.size = t.target.sizeof if t.target else 0
            return t
        if tag == "DW_TAG_subroutine_type":
            t = Type("function", name, 0)
            self._resolved[key] = t
            return t
        t = Type("void", name, size)
        self._resolved[key] = t
        return t

    # -- public queries --------------------------------------------------
    def struct(self, name: str) -> Type:
        return self._lookup("struct", name)

    def union(self, name: str) -> Type:
        return self._lookup("union", name)

    def enum(self, name: str) -> Type:
        return self._lookup("enum", name)

    def typedef(self, name: str) -> Type:
        return self._lookup("typedef", name)

    def type(self, spelling: str) -> Type:
        """Look up 'struct foo', 'union foo', 'enum foo', a typedef or a base type; a trailing '*' makes a pointer."""
        s = spelling.strip()
        if s.endswith("*"):
            inner = self.type(s[:-1])
            return Type("pointer", None, self.pointer_size, target=inner)
        for kind in ("struct", "union", "enum"):
            if s.startswith(kind + " "):
                return self._lookup(kind, s[len(kind) + 1:].strip())
        for kind in ("typedef", "base"):
            if (kind, s) in self._named:
                return self._lookup(kind, s)
        raise DwarfError(f"no type named {spelling!r} in {self.path.name}")

    def _lookup(self, kind: str, name: str) -> Type:
        die = self._named.get((kind, name))
        if die is None:
            raise DwarfError(f"no {kind} named {name!r} in the DWARF of {self.path.name}")
        return self._resolve(die)

    def has_struct(self, name: str) -> bool:
        return ("struct", name) in self._named

    def variable(self, name: str) -> Variable:
        die = self._vars.get(name)
        addr = None
        if die is not None:
            loc = die.attributes.get("DW_AT_location")
            if loc is not None and isinstance(loc.value, list) and loc.value and loc.value[0] == 0x03:
                # DW_OP_addr <address>
                size = self.pointer_size
                raw = bytes(loc.value[1:1 + size])
                addr = int.from_bytes(raw, "little" if self.little_endian else "big")
        if addr is None:
            addr = self.symbols().get(name)
        if die is None or addr is None:
            raise DwarfError(f"no global variable {name!r} in {self.path.name}")
        return Variable(name, addr, self._type_of(die))

    def symbols(self) -> dict[str, int]:
        """ELF symbol table: name -> address (functions and objects)."""
        if self._symbols is None:
            self._symbols = {}
            tab = self.elf.get_section_by_name(".symtab")
            if tab is not None:
                for sym in tab.iter_symbols():
                    if sym.name and sym["st_shndx"] != "SHN_UNDEF":
                        self._symbols.setdefault(sym.name, sym["st_value"])
        return self._symbols

    def symbol(self, name: str) -> int:
        try:
            return self.symbols()[name]
        except KeyError:
            raise DwarfError(f"symbol {name!r} not found in {self.path.name}") from None


def _const_expr(expr) -> int:
    """Evaluate the DW_OP_plus_uconst form of a member location."""
    if isinstance(expr, list) and expr and expr[0] == 0x23:   # DW_OP_plus_uconst ULEB128
        val, shift = 0, 0
        for b in expr[1:]:
            val |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return val
    raise DwarfError(f"unsupported member location expression {expr!r}")


# ---------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------

class Object:
    """A typed kernel value, either in memory (address) or immediate (value).

    Attribute access reads members (``proc.pid``), ``[i]`` indexes arrays and
    pointers, ``.deref()`` follows a pointer, ``.value_()`` gives a Python int
    (or bool), ``.string_()`` a NUL-terminated char array or char pointer."""

    __slots__ = ("_types", "_read", "_type", "_address", "_value")

    def __init__(self, types: TypeIndex, read_virt: ReadVirt, type_: Type,
                 address: int | None = None, value: int | None = None):
        self._types = types
        self._read = read_virt
        self._type = type_
        self._address = address
        self._value = value

    @classmethod
    def variable(cls, types: TypeIndex, read_virt: ReadVirt, name: str) -> "Object":
        v = types.variable(name)
        return cls(types, read_virt, v.type, address=v.address)

    @classmethod
    def at(cls, types: TypeIndex, read_virt: ReadVirt, type_: Type | str, address: int) -> "Object":
        t = types.type(type_) if isinstance(type_, str) else type_
        return cls(types, read_virt, t, address=address)

    # -- introspection ---------------------------------------------------
    @property
    def type_(self) -> Type:
        return self._type

    @property
    def address_(self) -> int:
        if self._address is None:
            raise DwarfError("value has no address")
        return self._address

    def __repr__(self) -> str:
        where = f"at {self._address:#x}" if self._address is not None else f"= {self._value}"
        return f"Object({self._type.spelling()} {where})"

    # -- reading ---------------------------------------------------------
    def _raw(self, size: int) -> bytes:
        data = self._read(self.address_, size)
        if len(data) != size:
            raise DwarfError(f"short read of {size} bytes at {self.address_:#x}")
        return data

    def value_(self) -> int:
        if self._value is not None:
            return self._value
        t = self._type.strip()
        if t.kind in ("base", "enum", "pointer"):
            size = t.size or self._types.pointer_size
            raw = self._raw(size)
            order = "little" if self._types.little_endian else "big"
            signed = t.kind == "enum" or (t.kind == "base" and t.encoding in ("signed", "char"))
            if t.kind == "base" and t.encoding == "float":
                fmt = {4: "f", 8: "d"}[size]
                return _struct.unpack(("<" if order == "little" else ">") + fmt, raw)[0]
            v = int.from_bytes(raw, order, signed=signed)
            return bool(v) if t.kind == "base" and t.encoding == "bool" else v
        raise DwarfError(f"cannot take the value of {self._type.spelling()}")

    def __int__(self) -> int:
        return int(self.value_())

    def __bool__(self) -> bool:
        return bool(self.value_())

    def __index__(self) -> int:
        return int(self.value_())

    def member_(self, name: str) -> "Object":
        t = self._type.strip()
        if t.kind == "pointer":          # p.member works like p->member
            return self.deref().member_(name)
        m = t.member(name)
        addr = self.address_ + m.offset
        if m.bit_size is not None:
            storage = m.type.sizeof or 4
            raw = int.from_bytes(self._read(addr, storage), "little" if self._types.little_endian else "big")
            val = (raw >> (m.bit_offset or 0)) & ((1 << m.bit_size) - 1)
            return Object(self._types, self._read, m.type, value=val)
        return Object(self._types, self._read, m.type, address=addr)

    def __getattr__(self, name: str) -> "Object":
        if name.startswith("_") or name.endswith("_"):
            raise AttributeError(name)
        return self.member_(name)

    def deref(self) -> "Object":
        t = self._type.strip()
        if t.kind != "pointer":
            raise DwarfError(f"{self._type.spelling()} is not a pointer")
        addr = self.value_()
        if addr == 0:
            raise DwarfError(f"NULL pointer dereference ({self._type.spelling()})")
        return Object(self._types, self._read, t.target or VOID, address=addr)

    def __getitem__(self, i: int) -> "Object":
        t = self._type.strip()
        if t.kind == "array":
            if t.count is not None and not 0 <= i < t.count:
                raise IndexError(i)
            elem = t.target
            return Object(self._types, self._read, elem, address=self.address_ + i * elem.sizeof)
        if t.kind == "pointer":
            elem = t.target or VOID
            return Object(self._types, self._read, elem, address=self.value_() + i * elem.sizeof)
        raise DwarfError(f"{self._type.spelling()} cannot be indexed")

    def __len__(self) -> int:
        t = self._type.strip()
        if t.kind == "array" and t.count is not None:
            return t.count
        raise TypeError("object has no length")

    def string_(self, max_len: int = 4096) -> str:
        t = self._type.strip()
        if t.kind == "array":
            n = min(t.count or max_len, max_len)
            data = self._raw(n)
        elif t.kind == "pointer":
            addr = self.value_()
            if addr == 0:
                return ""
            data = b""
            while len(data) < max_len:
                chunk = self._read(addr + len(data), min(64, max_len - len(data)))
                data += chunk
                if b"\0" in chunk:
                    break
        else:
            raise DwarfError(f"{self._type.spelling()} is not a string")
        return data.split(b"\0", 1)[0].decode("utf-8", "replace")

    def bytes_(self) -> bytes:
        return self._raw(self._type.sizeof)

    def cast(self, type_: Type | str) -> "Object":
        t = self._types.type(type_) if isinstance(type_, str) else type_
        if t.strip().kind == "pointer" and self._type.strip().kind in ("base", "pointer", "enum"):
            return Object(self._types, self._read, t, value=self.value_())
        return Object(self._types, self._read, t, address=self._address, value=self._value)

    def container_of(self, type_: Type | str, member: str) -> "Object":
        """Given a pointer/value that is the address of `member` inside a `type_`, return that object."""
        t = self._types.type(type_) if isinstance(type_, str) else type_
        addr = self.value_() if self._type.strip().kind == "pointer" else self.address_
        return Object(self._types, self._read, t, address=addr - t.offsetof(member))


def walk_list(head: Object, next_member: str = "next", limit: int = 100000) -> Iterator[Object]:
    """Follow a NULL-terminated singly linked list of struct pointers.

    `head` is a pointer object; yields each pointed-to struct. Stops (with an
    error) on a cycle, so a corrupted list cannot hang the debugger."""
    seen: set[int] = set()
    p = head
    while int(p.value_()) != 0:
        addr = int(p.value_())
        if addr in seen:
            raise DwarfError(f"cycle in linked list at {addr:#x}")
        if len(seen) >= limit:
            raise DwarfError(f"linked list longer than {limit} entries")
        seen.add(addr)
        obj = p.deref()
        yield obj
        p = obj.member_(next_member)
