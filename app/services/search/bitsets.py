"""Sets of document numbers held as Python integers: bit ``n`` set means document ``n``.

Intersections, unions and counts then run in C over machine words (``a & b``, ``a | b``,
``x.bit_count()``), which is what lets search filter and count facets over a region's
100,000 listings in well under a millisecond per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

# For each byte value, the positions of its set bits.
_BYTE_BITS: tuple[tuple[int, ...], ...] = tuple(tuple(b for b in range(8) if value >> b & 1) for value in range(256))


def from_positions(positions: Iterable[int], size: int) -> int:
    """A bitset with the given positions (each below ``size``) set."""
    data = bytearray((size + 7) // 8)
    for p in positions:
        data[p >> 3] |= 1 << (p & 7)
    return int.from_bytes(data, "little")


def full(size: int) -> int:
    return (1 << size) - 1


def positions(bits: int) -> list[int]:
    """Every set position, ascending."""
    out: list[int] = []
    if bits <= 0:
        return out
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    extend = out.extend
    for i, byte in enumerate(data):
        if byte:
            base = i << 3
            extend([base + b for b in _BYTE_BITS[byte]])
    return out


def member_test(bits: int) -> Callable[[int], bool]:
    """A fast membership test for one bitset (for walking a long ordering)."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little") if bits > 0 else b""
    size = len(data)

    def contains(n: int) -> bool:
        i = n >> 3
        return i < size and (data[i] >> (n & 7)) & 1 == 1

    return contains


def from_byte_column(column: bytes, accepted: Iterable[int]) -> int:
    """Documents whose one-byte code in ``column`` is among ``accepted``.

    ``bytes.translate`` maps each code to the digit '1' or '0' in C; reversed, that string
    is the bitset in base 2. About a millisecond for 100,000 documents."""
    accepted = set(accepted)
    if not column or not accepted:
        return 0
    table = bytes(0x31 if value in accepted else 0x30 for value in range(256))
    return int(column.translate(table)[::-1], 2)


def take_in_order(order: Sequence[int] | Iterator[int], bits: int, skip: int, limit: int) -> list[int]:
    """The members of ``bits`` in the sequence ``order``, after skipping ``skip`` of them."""
    contains = member_test(bits)
    out: list[int] = []
    for n in order:
        if contains(n):
            if skip:
                skip -= 1
                continue
            out.append(n)
            if len(out) >= limit:
                break
    return out


def union(values: Iterable[int]) -> int:
    """Every position set in any of the bitsets."""
    result = 0
    for v in values:
        result |= v
    return result


def intersection(values: Iterable[int]) -> int:
    """The positions set in all of the bitsets (none, for no bitsets at all)."""
    result = -1
    for v in values:
        result &= v
        if not result:
            return 0
    return result if result != -1 else 0
