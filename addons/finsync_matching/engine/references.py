"""Payment references as people and banks write them, normalised for comparison.

``normalize("INV/2026/00042")`` and ``normalize("inv 2026 42")`` are both
``"INV-2026-42"``: upper case, separators dropped, leading zeros of number
groups dropped. ``extract(text)`` returns every normalised candidate a text
holds: validated ISO 11649 creditor references (``RF18539007547034``),
validated Belgian structured communications (``+++090/9337/55493+++``, also
written without the plus signs as ``090/9337/55493``) and every run of one to
five consecutive tokens, so that a label like ``"payment inv 2026-42 thanks"``
yields ``"INV-2026-42"`` among others. A matcher intersects these with
``reference_keys`` of the open items' references.
"""

import re
from functools import lru_cache

_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_RF = re.compile(r"\bRF\s?(\d{2})\s?((?:[A-Za-z0-9]\s?){1,21})", re.IGNORECASE)
_OGM = re.compile(r"(?:\+{3}|\*{3})\s*(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})\s*(?:\+{3}|\*{3})")
# The same communication as people retype it: "090/9337/55493", "090 9337 55493".
_BARE_OGM = re.compile(r"(?<![\d/])(\d{3})[/ ]?(\d{4})[/ ]?(\d{5})(?![\d/])")
MAX_WINDOW = 5


def _tokens(text):
    return [
        token.upper() if token.isalpha() else str(int(token))
        for token in _TOKEN.findall(text or "")
    ]


def normalize(reference):
    """``"INV/2026/00042"`` -> ``"INV-2026-42"``; ``None`` for a reference without tokens."""
    tokens = _tokens(reference)
    return "-".join(tokens) if tokens else None


def _mod97(digits):
    return int(digits) % 97


def is_valid_rf(reference):
    """ISO 11649 creditor reference check (``RF`` + 2 check digits + up to 21 characters)."""
    compact = re.sub(r"\s", "", reference or "").upper()
    if not re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return _mod97(digits) == 1


def is_valid_ogm(digits):
    """Belgian structured communication: 10 digits, then their value mod 97 (97 for 0)."""
    if not re.fullmatch(r"\d{12}", digits or ""):
        return False
    check = _mod97(digits[:10]) or 97
    return check == int(digits[10:])


def structured_references(text):
    """The creditor references and structured communications in ``text``, validated."""
    found = []
    for match in _RF.finditer(text or ""):
        candidate = "RF" + match.group(1) + re.sub(r"\s", "", match.group(2)).upper()
        # The greedy group may swallow the next word: shorten until the check holds.
        while len(candidate) > 4 and not is_valid_rf(candidate):
            candidate = candidate[:-1]
        if len(candidate) > 4:
            found.append(candidate)
    for pattern in (_OGM, _BARE_OGM):
        for match in pattern.finditer(text or ""):
            digits = "".join(match.groups())
            if is_valid_ogm(digits) and digits not in found:
                found.append(digits)
    return found


def is_weak(key):
    """A key too short or without a digit to identify one open item (``"42"``, ``"SO"``)."""
    return len(key.replace("-", "")) < 4 or not any(char.isdigit() for char in key)


@lru_cache(maxsize=500_000)
def reference_keys(reference):
    """The keys an open item's reference is found by: its normalised form and the
    compact form of a structured reference it is (``RF18 5390 0754 7034`` ->
    ``RF18539007547034``). Weak keys are left out: they would match any label.
    """
    keys = set(structured_references(reference))
    key = normalize(reference)
    if key and not is_weak(key):
        keys.add(key)
    # Cached: every matching job rebuilds its index from the same open items.
    return frozenset(keys)


def extract(text):
    """Every normalised reference candidate in ``text`` (a set)."""
    tokens = _tokens(text)
    candidates = set(structured_references(text))
    for size in range(1, MAX_WINDOW + 1):
        for start in range(len(tokens) - size + 1):
            candidates.add("-".join(tokens[start : start + size]))
    return candidates


def near_keys(key):
    """Keys under which a reference written differently may be the same one:
    ``"INV-2027-566"`` -> ``{"INV-*-566", "*-2027-566"}`` (another year, another
    prefix). Only for keys of three or more groups ending in a number; such a
    key never reconciles, it only explains a proposal."""
    tokens = key.split("-")
    if len(tokens) < 3 or not tokens[-1].isdigit():
        return set()
    head, number = tokens[:-1], tokens[-1]
    years = "-".join("*" if token.isdigit() else token for token in head)
    prefixes = "-".join(token if token.isdigit() else "*" for token in head)
    return {f"{form}-{number}" for form in (years, prefixes) if form.strip("*-")}


def difference(written, known):
    """What tells the key ``written`` from ``known`` in words ("year 2027 instead of 2026")."""
    written_tokens, known_tokens = written.split("-"), known.split("-")
    if len(written_tokens) != len(known_tokens):
        return f"{written} instead of {known}"
    parts = []
    for mine, theirs in zip(written_tokens, known_tokens, strict=True):
        if mine != theirs:
            kind = "prefix" if not mine.isdigit() else "year" if len(mine) == 4 else "number"
            parts.append(f"{kind} {mine} instead of {theirs}")
    return ", ".join(parts)
