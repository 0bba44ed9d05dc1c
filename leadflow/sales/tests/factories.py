from decimal import Decimal

import factory

from leadflow.contacts.tests.factories import ContactFactory
from leadflow.sales.models import Deal, DealStage


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    name = factory.Sequence(lambda n: f"Deal {n}")
    contact = factory.SubFactory(ContactFactory)
    amount = Decimal("1200.00")
    currency = "USD"
    stage = DealStage.QUALIFICATION
