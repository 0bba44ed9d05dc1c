"""Role and disposable addresses, one value at a time. (The vectorised version for imports,
acquisition.pipeline.flags, is checked against these cases in acquisition's tests.)"""

import pytest

from leadflow.contacts.normalise import EmailFlags, email_flags

CASES = [
    # (address, is_role, is_disposable)
    ("ann.lee@example.com", False, False),
    ("info@example.com", True, False),
    ("Sales@Example.com", True, False),
    ("sales+emea@example.com", True, False),  # plus-addressing
    ("no-reply@example.com", True, False),
    ("No.Reply@example.com", True, False),
    ("do_not_reply@example.com", True, False),
    ("postmaster@example.com", True, False),
    ("hr@example.com", True, False),
    ("information.desk@example.com", False, False),  # a role word inside a longer name
    ("salesforce@example.com", False, False),
    ("ann@mailinator.com", False, True),
    ("ann@inbox.mailinator.com", False, True),  # a subdomain of a disposable domain
    ("info@mailinator.com", True, True),
    ("ann@gmail.com", False, False),
]


@pytest.mark.parametrize(("address", "role", "disposable"), CASES)
def test_email_flags_one_address(address, role, disposable):
    assert email_flags(address) == EmailFlags(is_role=role, is_disposable=disposable)


def test_no_address_is_neither():
    assert email_flags(None) == EmailFlags(False, False)
    assert email_flags("") == EmailFlags(False, False)
    assert email_flags("not an address") == EmailFlags(False, False)
