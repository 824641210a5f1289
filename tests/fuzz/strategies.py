"""Hypothesis strategies shared by the fuzz tests: the texts an attacker sends, and the settings."""

import string

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def fuzz_settings(max_examples: int) -> settings:
    """
    Every fuzz test's settings: reproducible (derandomize), no deadline (the
    first request of a test warms caches), no example database, and
    function-scoped fixtures allowed since every example only adds rows that
    the assertions ignore.
    """
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


NASTY_CHARACTERS = [
    "\x00",
    "\x01",
    "\x1b",
    "\x1c",
    "\x7f",
    "\x85",
    "\x9f",
    "\t",
    "\n",
    "\r",
    "\r\nBcc: victim@example.com\r\n",
    "\ud800",
    "\udfff",
    "\u200b",
    "\u200d",
    "\u2028",
    "\u202e",
    "\u2066",
    "\u2069",
    "\ufeff",
    "\ufffd",
    "²",
    "١٢",
    "'",
    '"',
    "<script>",
    "%",
    "_",
    "\\",
    "😀",
]

# A text that mixes ordinary characters with the ones the rules are about.
nasty_text = st.lists(
    st.one_of(st.sampled_from(NASTY_CHARACTERS), st.text(string.ascii_letters + string.digits + " -#", max_size=6)),
    max_size=8,
).map("".join)

# Numbers as they appear in query strings and forms: ordinary ids, huge ones, negative, odd digits.
number_text = st.one_of(
    st.integers(min_value=-5, max_value=5).map(str),
    st.integers(min_value=2**31 - 2, max_value=2**31 + 2).map(str),
    st.integers(min_value=10**11, max_value=10**30).map(str),
    st.just("9" * 30),
    st.sampled_from(["", " 1", "1 ", "0x10", "1e5", "nan", "-0", "١", "²", "1\x00"]),
)

overlong_text = st.integers(min_value=150, max_value=3000).map(lambda n: "x" * n)

# Anything a form field or a query-string value may receive.
any_value = st.one_of(nasty_text, number_text, overlong_text, st.text(max_size=20))

# Raw percent-encoded values, for what no str can carry: an encoded lone surrogate, broken UTF-8.
RAW_QUERY_VALUES = ["%00", "%ED%A0%80", "%ED%BF%BF", "%C0%80", "%FF", "%E2%80%AE", "%0D%0A", "%25", "%"]
