"""What sales tells the rest of Leadflow. Sent on commit, carrying ids only."""

from django.dispatch import Signal

deal_created = Signal()  # kwargs: deal_id, contact_id
deal_won = Signal()  # kwargs: deal_id, contact_id, amount, currency
deal_lost = Signal()  # kwargs: deal_id, contact_id, reason
