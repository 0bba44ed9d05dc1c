import pytest

from leadflow.contacts.models import ActivityKind
from leadflow.sales import services
from leadflow.sales.models import DealStage
from leadflow.sales.tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_winning_a_deal_dates_it_and_tells_the_timeline():
    deal = DealFactory()
    services.move_deal(deal=deal, stage=DealStage.WON, actor=None)
    deal.refresh_from_db()
    assert deal.won_at is not None and deal.lost_at is None
    assert deal.contact.activities.filter(kind=ActivityKind.DEAL_WON).exists()


def test_losing_a_deal_keeps_the_reason_and_the_reason_can_be_corrected():
    deal = DealFactory()
    services.move_deal(deal=deal, stage=DealStage.LOST, actor=None, lost_reason="Price")
    services.update_deal(deal=deal, actor=None, lost_reason="Chose a competitor")
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (DealStage.LOST, "Chose a competitor")


def test_reopening_a_deal_clears_the_outcome():
    deal = DealFactory()
    services.move_deal(deal=deal, stage=DealStage.WON, actor=None)
    services.move_deal(deal=deal, stage=DealStage.NEGOTIATION, actor=None)
    deal.refresh_from_db()
    assert deal.won_at is None and deal.lost_at is None
