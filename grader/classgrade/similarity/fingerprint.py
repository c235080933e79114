"""Winnowing fingerprints of a token sequence (Schleimer, Wilkerson and Aiken, SIGMOD 2003).

Every run of :data:`K` consecutive tokens is hashed; in every window of :data:`WINDOW`
consecutive hashes the smallest is kept (the rightmost of equals). Two codes that share a
run of at least ``K + WINDOW - 1`` tokens share a fingerprint; runs shorter than ``K`` are
never matched. The hashes are stable across processes and machines (a tuple of ints hashes
the same everywhere), so an archive can keep them.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.classgrade.similarity.normalize import Token, token_ids

K = 12
WINDOW = 4


@dataclass(frozen=True)
class Fingerprints:
    """The fingerprints of one student's code for one function.

    Attributes:
        hashes: the kept k-gram hashes.
        lines: ``{hash: (first line, last line)}`` of the code each came from (its first run).
        n_tokens: how many tokens the code has after normalisation.
    """

    hashes: frozenset[int]
    lines: dict
    n_tokens: int

    def without(self, removed) -> Fingerprints:
        """These fingerprints less ``removed`` (the course's code, what many students share)."""
        kept = self.hashes - removed
        return Fingerprints(kept, {h: self.lines[h] for h in kept if h in self.lines}, self.n_tokens)


def kgram_hashes(ids: list[int], k: int = K) -> list[int]:
    """The hash of each run of ``k`` consecutive ids: ``len(ids) - k + 1`` of them."""
    return [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> list[int]:
    """Positions of the kept hashes: the smallest of each window, the rightmost of equals.

    A sequence shorter than one window keeps its smallest hash.
    """
    if not hashes:
        return []
    if len(hashes) <= window:
        smallest = min(hashes)
        return [max(i for i, h in enumerate(hashes) if h == smallest)]
    kept: list[int] = []
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        smallest = min(part)
        position = start + window - 1 - part[::-1].index(smallest)
        if not kept or kept[-1] != position:
            kept.append(position)
    return kept


def fingerprint(found: list[Token], *, k: int = K, window: int = WINDOW) -> Fingerprints:
    """The winnowed fingerprints of normalised tokens (:func:`normalize.tokens`)."""
    hashes = kgram_hashes(token_ids(found), k)
    lines: dict[int, tuple[int, int]] = {}
    for position in winnow(hashes, window):
        span = [line for _, line in found[position:position + k] if line]
        lines.setdefault(hashes[position], (min(span), max(span)) if span else (0, 0))
    return Fingerprints(frozenset(lines), lines, len(found))
