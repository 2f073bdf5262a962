"""The e-mail normal form and key: one function decides, for every code point."""

import sys
import unicodedata

import pytest

from models.email_address import EmailAddressError, email_key, parse_email


def test_the_key_is_stable_for_every_code_point():
    # Stored keys are compared with keys of new input: keying a key must change nothing.
    for code_point in range(sys.maxunicode + 1):
        char = chr(code_point)
        for text in (char, f"a{char}b"):
            key = email_key(text)
            assert email_key(key) == key, hex(code_point)


@pytest.mark.parametrize(
    "spellings",
    [
        ["\u0130nci@x.test", "i\u0307nci@x.test", "\u0130NCI@X.TEST"],
        ["\u039f\u03a3@x.test", "\u03bf\u03c3@x.test", "\u03bf\u03c2@x.test"],
        ["ada@x.test", "\uff21\uff24\uff21@\uff58.test", "ADA@X.TEST"],
        ["\u00e9mile@x.test", "e\u0301mile@x.test", "\u00c9MILE@x.test"],
        ["strasse@x.test", "stra\u00dfe@x.test", "STRASSE@X.TEST", "stra\u1e9ee@x.test"],
        ["\ufb01sh@x.test", "fish@x.test", "FISH@x.test"],
    ],
)
def test_spellings_of_one_address_share_a_key(spellings):
    keys = {parse_email(spelling).key for spelling in spellings}

    assert len(keys) == 1


def test_the_stored_form_keeps_case_and_is_nfkc():
    parsed = parse_email("  E\u0301mile@\uff38.Test\u3000")

    assert parsed.address == "\u00c9mile@X.Test"
    assert unicodedata.is_normalized("NFKC", parsed.address)
    assert parsed.key == "\u00e9mile@x.test"


@pytest.mark.parametrize(
    "email",
    [
        "p\u0430ypal@x.test",  # Latin and Cyrillic
        "paypal@p\u0430ypal.test",
        "x\u03a3@x.test",  # Latin and Greek
        "\u03b1\u0430@x.test",  # Greek and Cyrillic
        "ad\u200da@x.test",  # zero-width joiner
        "ad\u200ea@x.test",  # left-to-right mark
        "ad\x1fa@x.test",
        "ad\udfffa@x.test",
        "ad\U000f0000a@x.test",  # private use, plane 15
        "ad\U000e0001a@x.test",  # language tag
        "no-at-sign",
        "a@b",
        "a@.test",
        "x" * 2000 + "@x.test",
    ],
)
def test_refused(email):
    with pytest.raises(EmailAddressError):
        parse_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "\u5c71\u7530\u305f\u308d\u3046san@x.jp",  # Han, Hiragana and Latin
        "\ud64d\uae38\ub3d9kim@x.kr",  # Hangul and Latin
        "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.com",  # Cyrillic labels
        "ada.o'neil+tag@x.test",
        "d\u00e9j\u00e0-vu_1@x.test",  # Latin with accents and digits
    ],
)
def test_accepted(email):
    assert parse_email(email).address == unicodedata.normalize("NFKC", email)
