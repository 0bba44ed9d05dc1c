"""Phones as web forms, the API and imports store them (`contacts.normalise`)."""

import phonenumbers
import pytest

from leadflow.contacts.normalise import InvalidPhone, is_storable_phone, normalise_phone


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 415 555 0100", "US", "+14155550100"),  # fictional (555) numbers are real enough
        ("201-555-0123", "US", "+12015550123"),
        ("(415) 555-0100", "CA", "+14155550100"),
        ("030 1234567", "DE", "+49301234567"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("+39 06 1234 5678", "US", "+390612345678"),  # Italy keeps its leading zero
        ("+800 1234 5678", "US", "+80012345678"),  # international freephone, no region
    ],
)
def test_a_number_that_can_exist_is_stored_in_e164(raw, region, e164):
    assert normalise_phone(raw, region=region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("555-0199", "US", "area code"),  # dialled only inside its area
        ("030 1234567", "US", r"country code \+1"),  # a Berlin number is no US number
        ("+1 030 123 4567", "DE", r"country code \+1"),
        ("12", "US", "number of digits"),
        ("call me", "US", "does not look like a phone number"),
    ],
)
def test_a_number_that_cannot_exist_is_refused_with_a_reason(raw, region, message):
    with pytest.raises(InvalidPhone, match=message):
        normalise_phone(raw, region=region)


def test_every_valid_number_of_every_region_is_storable():
    # is_storable_phone is a necessary condition of libphonenumber's is_valid_number.
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                assert is_storable_phone(example), (region, kind)
                checked += 1
    assert checked > 300


def test_a_possible_number_is_not_storable_when_it_is_local_only_or_of_no_region():
    local = phonenumbers.parse("555-0199", "US")
    nowhere = phonenumbers.parse("0301234567", "US")
    assert phonenumbers.is_possible_number(local) and phonenumbers.is_possible_number(nowhere)
    assert not is_storable_phone(local)
    assert not is_storable_phone(nowhere)
