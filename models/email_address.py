"""E-mail addresses: the one place that decides how an address is stored and compared.

An address is stored as typed, in Unicode NFKC (fullwidth forms, ligatures and decomposed
accents become their usual characters), and compared by its key: NFKC with a full Unicode
case-fold, made here in Python and stored in `users.email_key`. The unique index and every
lookup use that stored key, so PostgreSQL never lower-cases an address by its own rules
(its `lower()` and Python's disagree on `İ` and final `ς`).

Look-alikes are refused rather than guessed at: invisible and control characters anywhere,
and a local part or domain label that mixes scripts (Latin with Cyrillic or Greek, say)
beyond the mixes Unicode's "highly restrictive" profile (UTS #39) allows for Chinese,
Japanese and Korean. An address written wholly in another script stays its own address.
"""

import re
import unicodedata
from dataclasses import dataclass

MAX_EMAIL_LENGTH = 320
# NFKC can lengthen a string; refuse absurd input before normalising it.
_MAX_RAW_LENGTH = 4 * MAX_EMAIL_LENGTH
# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is for a mail check.
_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.][^@\s]*$")
# Controls, format characters (zero-width space, joiners, bidi marks), surrogates, private
# use, unassigned code points and every kind of space: none belongs in an address.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_HAN = "HAN"
_ALLOWED_MIXES = (
    frozenset({"LATIN", _HAN, "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", _HAN, "BOPOMOFO"}),
    frozenset({"LATIN", _HAN, "HANGUL"}),
)
SHAPE_MESSAGE = "Enter an email address such as `name@example.com`."


class EmailAddressError(ValueError):
    """The text is not an address this service accepts; `message` says why."""

    def __init__(self, message: str) -> None:
        """Keep the reason for the client."""
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """An accepted address: `address` to store and show, `key` to compare and index."""

    address: str
    key: str


def email_key(address: str) -> str:
    """The comparison key of any text: Unicode compatibility caseless form, composed.

    Unicode's compatibility caseless match (D146: NFKD, fold, NFKD, fold, after NFD), then
    composed again. Total: it never refuses, so log-in and the migration can key any text.
    """
    folded = unicodedata.normalize("NFD", address).casefold()
    folded = unicodedata.normalize("NFKD", folded).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def parse_email(raw: str) -> EmailAddress:
    """The address in its stored form with its key; `EmailAddressError` if it is refused."""
    if len(raw) > _MAX_RAW_LENGTH:
        raise EmailAddressError(SHAPE_MESSAGE)
    address = unicodedata.normalize("NFKC", raw).strip()
    if any(unicodedata.category(char) in _INVISIBLE for char in address):
        message = "An email address cannot contain spaces, invisible or control characters."
        raise EmailAddressError(message)
    local, _, domain = address.rpartition("@")
    if len(address) > MAX_EMAIL_LENGTH or not _SHAPE.match(address) or "" in domain.split("."):
        raise EmailAddressError(SHAPE_MESSAGE)
    for part in (local, *domain.split(".")):
        if _mixes_scripts(part):
            message = (
                "An email address cannot mix alphabets (such as Latin and Cyrillic letters)"
                " within its name or within one part of its domain."
            )
            raise EmailAddressError(message)
    key = email_key(address)
    if len(key) > MAX_EMAIL_LENGTH:
        raise EmailAddressError(SHAPE_MESSAGE)
    return EmailAddress(address=address, key=key)


def _script(char: str) -> str | None:
    # Python has no script property; a letter's Unicode name starts with its script
    # ("CYRILLIC SMALL LETTER A", "CJK UNIFIED IDEOGRAPH-4E00"). Modifier letters, marks,
    # digits and punctuation are shared by scripts: None.
    category = unicodedata.category(char)
    if not category.startswith("L") or category == "Lm":
        return None
    first = unicodedata.name(char, "").partition(" ")[0]
    if first == "CJK":
        return _HAN
    return first or None


def _mixes_scripts(part: str) -> bool:
    scripts = {script for char in part if (script := _script(char)) is not None}
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES)
