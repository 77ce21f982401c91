"""What a dynamically linked ELF program needs to start: its interpreter and its libraries.

Read straight from the file (64-bit little-endian ELF, the only kind our guests run), so
that building an image needs no binutils on the host.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, ...
DYNAMIC_ENTRY = struct.Struct("<qQ")  # tag, value


@dataclass(frozen=True)
class DynamicLinking:
    interpreter: str | None  # "/lib64/ld-linux-x86-64.so.2"; None for a static program
    needed: tuple[str, ...]  # DT_NEEDED sonames, in the file's order


@dataclass(frozen=True)
class _Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


def dynamic_linking(data: bytes) -> DynamicLinking:
    """The interpreter and DT_NEEDED entries of an ELF64 LE file; ValueError for anything else."""
    if data[:4] != ELF_MAGIC or data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
        raise ValueError("not a 64-bit little-endian ELF file")
    segments = _segments(data)
    interpreter = None
    for segment in segments:
        if segment.kind == PT_INTERP:
            raw = data[segment.offset : segment.offset + segment.filesz]
            interpreter = raw.split(b"\0", 1)[0].decode()
    dynamic = next((s for s in segments if s.kind == PT_DYNAMIC), None)
    if dynamic is None:
        return DynamicLinking(interpreter, ())
    entries = _dynamic_entries(data, dynamic)
    strtab_address = next((value for tag, value in entries if tag == DT_STRTAB), None)
    if strtab_address is None:
        raise ValueError("ELF file has a dynamic section without a string table")
    strtab = _file_offset(segments, strtab_address)
    needed = tuple(_string_at(data, strtab + value) for tag, value in entries if tag == DT_NEEDED)
    return DynamicLinking(interpreter, needed)


def _segments(data: bytes) -> list[_Segment]:
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for index in range(phnum):
        kind, _, offset, vaddr, _, filesz, _, _ = PROGRAM_HEADER.unpack_from(
            data, phoff + index * phentsize
        )
        segments.append(_Segment(kind, offset, vaddr, filesz))
    return segments


def _dynamic_entries(data: bytes, dynamic: _Segment) -> list[tuple[int, int]]:
    entries = []
    for offset in range(dynamic.offset, dynamic.offset + dynamic.filesz, DYNAMIC_ENTRY.size):
        tag, value = DYNAMIC_ENTRY.unpack_from(data, offset)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    return entries


def _file_offset(segments: list[_Segment], address: int) -> int:
    """Where a virtual address (DT_STRTAB is one) lies in the file, via the loadable segments."""
    for segment in segments:
        if segment.kind == PT_LOAD and segment.vaddr <= address < segment.vaddr + segment.filesz:
            return address - segment.vaddr + segment.offset
    raise ValueError(f"ELF address {address:#x} is in no loadable segment")


def _string_at(data: bytes, offset: int) -> str:
    return data[offset : data.index(b"\0", offset)].decode()
