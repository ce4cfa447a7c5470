"""parse_context: every rule, and the hostile table field by field."""

from __future__ import annotations

import json

import pytest

from vidline.context.validate import ContextError, decode_body, parse_context

CATS = ("billing", "technical", "sales")

HOSTILE = {
    "crlf": "a\r\nb",
    "ami_injection": "x\r\nAction: Originate\r\nChannel: Local/666",
    "lf": "a\nb",
    "comma": "a,b",
    "quotes": "a\"b'c",
    "shell_fn": "${SHELL(id)}",
    "subshell": "$(id)",
    "ten_kb": "x" * 10240,
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "nul": "a\x00b",
    "bidi": "abc\u202edcba",
}

# per field: which hostile values a valid request may carry verbatim
CARRIED = {
    "customer_id": set(),
    "phone": set(),
    "category": set(),
    "page_url": set(),
    "kiosk_location": {"comma", "quotes", "shell_fn", "subshell", "html"},
}


def parse(**fields: object) -> object:
    return parse_context(fields, CATS)


@pytest.mark.parametrize("field", sorted(CARRIED))
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_value_is_refused_naming_the_field_or_carried_verbatim(field: str,
                                                                       name: str) -> None:
    value = HOSTILE[name]
    if name in CARRIED[field]:
        context = parse(**{field: value})
        assert getattr(context, field) == value
    else:
        with pytest.raises(ContextError) as err:
            parse(**{field: value})
        assert err.value.field == field


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_extra_value(name: str) -> None:
    value = HOSTILE[name]
    if name in {"comma", "quotes", "shell_fn", "subshell", "html"}:
        assert parse(extra={"note": value}).extra == {"note": value}
    else:
        with pytest.raises(ContextError) as err:
            parse(extra={"note": value})
        assert err.value.field == "extra.note"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_inside_a_page_url_query_is_refused_or_kept_exactly(name: str) -> None:
    url = "https://shop.example.com/p?q=" + HOSTILE[name]
    if name in {"comma", "quotes", "shell_fn", "subshell"}:
        assert parse(page_url=url).page_url == url
    else:
        with pytest.raises(ContextError) as err:
            parse(page_url=url)
        assert err.value.field == "page_url"


def test_a_full_valid_context() -> None:
    context = parse(customer_id="cust-42@shop:eu+1", phone="+49 (30) 123-45.67",
                    page_url="https://shop.example.com/cart?x=1#y", category="billing",
                    kiosk_location="Lobby 2, Berlin", extra={"plan": "gold", "a_1": ""})
    assert context.as_dict() == {
        "customer_id": "cust-42@shop:eu+1", "phone": "+4930123456" "7",
        "page_url": "https://shop.example.com/cart?x=1#y", "category": "billing",
        "kiosk_location": "Lobby 2, Berlin", "extra": {"plan": "gold", "a_1": ""},
    }


def test_anonymous_request_is_allowed_and_empty_strings_mean_absent() -> None:
    context = parse(customer_id="", phone=None, category="")
    assert context.customer_id is None and context.phone is None and context.category is None
    assert parse_context({}, CATS).as_dict()["customer_id"] is None


@pytest.mark.parametrize(("fields", "field"), [
    ({"customer_id": "x" * 65}, "customer_id"),
    ({"customer_id": "a b"}, "customer_id"),
    ({"customer_id": "ümlaut"}, "customer_id"),
    ({"customer_id": "abc\n"}, "customer_id"),  # $ would have matched before the \n
    ({"customer_id": 42}, "customer_id"),
    ({"phone": "12"}, "phone"),
    ({"phone": "1" * 16}, "phone"),
    ({"phone": "++4930"}, "phone"),
    ({"phone": "49a30"}, "phone"),
    ({"phone": "4930 " * 10}, "phone"),
    ({"page_url": "ftp://example.com/x"}, "page_url"),
    ({"page_url": "javascript:alert(1)"}, "page_url"),
    ({"page_url": "/relative/path"}, "page_url"),
    ({"page_url": "https:///nohost"}, "page_url"),
    ({"page_url": "https://example.com:99999/"}, "page_url"),
    ({"page_url": "https://example.com/a b"}, "page_url"),
    ({"page_url": "https://example.com/\x7f"}, "page_url"),
    ({"page_url": "https://exämple.com/"}, "page_url"),
    ({"page_url": "https://example.com/" + "a" * 2030}, "page_url"),
    ({"category": "BILLING"}, "category"),
    ({"category": "other"}, "category"),
    ({"kiosk_location": "x" * 65}, "kiosk_location"),
    ({"kiosk_location": "   "}, "kiosk_location"),
    ({"kiosk_location": "tab\there"}, "kiosk_location"),
    ({"kiosk_location": "line\u2028sep"}, "kiosk_location"),
    ({"extra": ["a"]}, "extra"),
    ({"extra": {f"k{i}": "v" for i in range(17)}}, "extra"),
    ({"extra": {"Upper": "v"}}, "extra"),
    ({"extra": {"k" * 33: "v"}}, "extra"),
    ({"extra": {"a-b": "v"}}, "extra"),
    ({"extra": {"n": 5}}, "extra.n"),
    ({"extra": {"n": "v" * 257}}, "extra.n"),
    ({"role": "admin"}, "role"),
    ({"Customer_ID": "x"}, "Customer_ID"),
])
def test_each_rule_names_its_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ContextError) as err:
        parse_context(fields, CATS)
    assert err.value.field == field
    assert err.value.message


def test_limits_are_inclusive() -> None:
    assert parse(customer_id="x" * 64).customer_id == "x" * 64
    assert parse(phone="1" * 15).phone == "1" * 15
    assert parse(kiosk_location="k" * 64).kiosk_location == "k" * 64
    url = "https://e.com/" + "a" * (2048 - 14)
    assert parse(page_url=url).page_url == url
    assert len(parse(extra={f"k{i}": "v" * 256 for i in range(16)}).extra) == 16


@pytest.mark.parametrize("body", [b"[]", b"\"x\"", b"null", b"{", b"", b"{\"a\":1}x"])
def test_body_must_be_a_json_object(body: bytes) -> None:
    with pytest.raises(ContextError) as err:
        parse_context(decode_body(body), CATS)
    assert err.value.field in ("body", "a")


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"kiosk_location": "Lobby \xff"}', "kiosk_location"),
    (b'{"customer_id": "\xc3"}', "customer_id"),
    (b'{"extra": {"note": "\xed\xa0\x80"}}', "extra.note"),  # an encoded surrogate
    (b'{"k\xff": "v"}', "body"),
    (b'{"phone": "\\ud800"}', "phone"),  # a lone surrogate by JSON escape
])
def test_invalid_utf8_names_the_field_that_held_it(raw: bytes, field: str) -> None:
    with pytest.raises(ContextError) as err:
        parse_context(decode_body(raw), CATS)
    assert err.value.field == field


def test_unknown_key_name_is_cut_in_the_error() -> None:
    with pytest.raises(ContextError) as err:
        parse_context(json.loads(json.dumps({"k" * 10000: 1})), CATS)
    assert len(err.value.field) == 64
