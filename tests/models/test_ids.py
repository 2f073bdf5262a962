import time

from models.ids import uuid7


def test_uuid7_has_version_7_the_rfc_variant_and_the_current_time():
    before_ms = time.time_ns() // 1_000_000
    value = uuid7()
    after_ms = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert before_ms <= value.int >> 80 <= after_ms


def test_uuid7_sorts_in_the_order_made_even_within_one_millisecond():
    ids = [uuid7() for _ in range(5_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
