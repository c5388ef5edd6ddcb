from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from fairserve.model import Channel, Contact, Customer, QueueKey, to_seconds


def test_dataclasses_are_frozen() -> None:
    customer = Customer(customer_id="00042")
    with pytest.raises(dataclasses.FrozenInstanceError):
        customer.clv = 1.0  # type: ignore[misc]


def test_ids_are_strings_and_keep_their_zeros() -> None:
    contact = Contact(contact_id="007", channel=Channel.PHONE, arrival=0.0, customer_id="00042")
    assert contact.customer_id == "00042"
    assert contact.contact_id == "007"


def test_channel_parses_from_its_value() -> None:
    assert Channel("social") is Channel.SOCIAL
    with pytest.raises(ValueError):
        Channel("fax")


def test_queue_key_orders_rank_then_virtual_arrival_then_arrival_then_id() -> None:
    keys = [
        QueueKey(1, 0.0, 0.0, "a"),
        QueueKey(0, 50.0, 60.0, "b"),
        QueueKey(0, 50.0, 55.0, "c"),
        QueueKey(0, 10.0, 100.0, "d"),
    ]
    assert [k.contact_id for k in sorted(keys)] == ["d", "c", "b", "a"]


def test_to_seconds_treats_naive_datetimes_as_utc() -> None:
    assert to_seconds(dt.datetime(1970, 1, 1, 0, 1)) == 60.0
    assert to_seconds(dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == 0.0
    assert to_seconds(dt.date(1970, 1, 2)) == 86400.0
    assert to_seconds(12.5) == 12.5


def test_customer_from_record_maps_empty_cells_to_none_and_keeps_id_strings() -> None:
    import math

    from fairserve.model import customer_from_record

    c = customer_from_record({"customer_id": "00042", "clv": 12.5, "loyalty": math.nan, "status": None,
                              "followers": 1200.0, "influence": 0.9})
    assert c == Customer(customer_id="00042", clv=12.5, followers=1200, influence=0.9)
    assert customer_from_record({"clv": 1.0}, customer_id="segment:gold").customer_id == "segment:gold"
