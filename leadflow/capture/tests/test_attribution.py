import pytest

from leadflow.capture.attribution import attribute_touch, classify_kind
from leadflow.capture.models import ChannelRule, RuleField
from leadflow.contacts.models import ChannelKind
from leadflow.contacts.tests.factories import ChannelFactory


@pytest.mark.parametrize(
    ("utm", "referrer", "expected"),
    [
        ({}, "", ChannelKind.DIRECT),
        ({}, "https://www.google.com/", ChannelKind.ORGANIC_SEARCH),
        ({}, "https://duckduckgo.com/?q=crm", ChannelKind.ORGANIC_SEARCH),
        ({}, "https://l.facebook.com/l.php", ChannelKind.SOCIAL),
        ({}, "https://t.co/abc", ChannelKind.SOCIAL),
        ({}, "https://blog.partner.example/post", ChannelKind.REFERRAL),
        ({}, "https://mail.google.com/", ChannelKind.EMAIL),
        ({"utm_medium": "cpc", "utm_source": "google"}, "", ChannelKind.PAID_SEARCH),
        ({"utm_medium": "CPC", "utm_source": "linkedin"}, "", ChannelKind.PAID_SOCIAL),
        ({"utm_medium": "email"}, "https://www.google.com/", ChannelKind.EMAIL),
        ({"utm_medium": "social"}, "", ChannelKind.SOCIAL),
        ({"utm_source": "twitter"}, "", ChannelKind.SOCIAL),
        ({"utm_medium": "webinar"}, "", ChannelKind.EVENTS),
    ],
)
def test_default_rules_tell_the_channel(utm, referrer, expected):
    assert classify_kind(utm=utm, referrer=referrer) == expected


def test_a_visit_from_our_own_site_is_direct():
    kind = classify_kind(
        utm={}, referrer="https://www.acme.example/pricing", own_host="acme.example"
    )
    assert kind == ChannelKind.DIRECT


@pytest.mark.django_db
def test_the_workspace_rules_win_over_the_defaults():
    partners = ChannelFactory(name="Partners", kind=ChannelKind.REFERRAL)
    ChannelRule.objects.create(
        field=RuleField.REFERRER_DOMAIN, value="*.google.com", channel=partners
    )

    touch = attribute_touch(utm={}, referrer="https://news.google.com/story")

    assert touch.channel == partners


@pytest.mark.django_db
def test_a_new_utm_campaign_is_created_under_the_touch_channel():
    touch = attribute_touch(utm={"utm_medium": "cpc", "utm_campaign": "spring-launch"}, referrer="")
    assert touch.campaign.name == "spring-launch"
    assert touch.campaign.channel == touch.channel
    assert touch.channel.kind == ChannelKind.PAID_SEARCH
