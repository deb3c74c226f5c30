"""Korean place names in Latin letters, by the Revised Romanization of Korean (2000).

Used to label administrative units in English (``오룡동`` -> ``Oryong-dong``). It applies the
letter table and the sound changes that place names need most: a final consonant carried over to
a following vowel, nasalisation before ㄴ/ㅁ, ㄹ after a nasal read as n, ㄹㄹ and ㄴㄹ as ll.
The unit's suffix (동, 면, 구, ...) is joined with a hyphen, as official names write it.
(The GPL romanizers on PyPI do not fit this MIT project; the rules are short.)
"""

from __future__ import annotations

INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
MEDIALS = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
           "yu", "eu", "ui", "i"]
# Final consonants by index (0: none) as written at the end of a syllable, and the sound they carry
# to a following vowel (liaison).
FINALS = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
          "ng", "t", "t", "k", "t", "p", "t"]
CARRIED = ["", "g", "kk", "ks", "n", "nj", "n", "d", "r", "lg", "lm", "lb", "ls", "lt", "lp", "r", "m", "b", "ps",
           "s", "ss", "ng", "j", "ch", "k", "t", "p", ""]
SUFFIXES = ("특별자치도", "광역시", "동", "면", "읍", "리", "구", "군", "시", "도", "가")
SPELLED_OUT = {"광역시": "Metropolitan City", "특별자치도": "Special Self-Governing Province"}
FIRST, LAST = 0xAC00, 0xD7A3


def _syllables(word: str) -> list[tuple[int, int, int] | str]:
    out: list[tuple[int, int, int] | str] = []
    for ch in word:
        code = ord(ch)
        if FIRST <= code <= LAST:
            index = code - FIRST
            out.append((index // 588, (index % 588) // 28, index % 28))
        else:
            out.append(ch)
    return out


def romanize_word(word: str) -> str:
    """One word (no spaces) in Latin letters, lower case."""
    parts = _syllables(word)
    text = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            text.append(part)
            continue
        initial, medial, final = part
        before = parts[i - 1] if i > 0 and not isinstance(parts[i - 1], str) else None
        start = INITIALS[initial]
        if before is not None:
            previous_final = before[2]
            if initial == 11 and previous_final:  # a vowel takes over the final consonant (it was written already)
                start = CARRIED[previous_final] if previous_final != 21 else ""
            elif initial == 5 and previous_final in (4, 8):  # ㄴㄹ, ㄹㄹ -> ll
                start = "l"
            elif initial == 5 and previous_final:  # ㄹ after any other final is read n
                start = "n"
        elif initial == 5:
            start = "r"
        end = FINALS[final]
        after = parts[i + 1] if i + 1 < len(parts) and not isinstance(parts[i + 1], str) else None
        if after is not None and final:
            nxt = after[0]
            if nxt == 11 and final != 21:  # carried over to the next syllable
                end = ""
            elif nxt in (2, 6, 5):  # before ㄴ, ㅁ (and ㄹ, read n): stops become nasals
                end = {"k": "ng", "t": "n", "p": "m"}.get(end, end)
                if final == 4 and nxt == 5:  # ㄴㄹ -> ll
                    end = "l"
        text.append(start + MEDIALS[medial] + end)
    return "".join(text)


def romanize_place(name: str) -> str:
    """A place name with its unit suffix: ``오룡동`` -> ``Oryong-dong``, ``광주광역시`` -> ``Gwangju Metropolitan City``."""
    words = []
    for word in name.split():
        suffix = next((s for s in SUFFIXES if word.endswith(s) and len(word) > len(s)), "")
        stem = word[: len(word) - len(suffix)] if suffix else word
        latin = romanize_word(stem)
        latin = latin[:1].upper() + latin[1:]
        if suffix in SPELLED_OUT:
            words.append(f"{latin} {SPELLED_OUT[suffix]}")
        else:
            words.append(f"{latin}-{romanize_word(suffix)}" if suffix else latin)
    return " ".join(words)
