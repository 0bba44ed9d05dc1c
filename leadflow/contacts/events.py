"""What the contacts core tells the rest of Leadflow. Sent on commit, carrying ids only."""

from django.dispatch import Signal

contact_created = Signal()  # kwargs: contact_id
contact_updated = Signal()  # kwargs: contact_id, changed (list of field names)
contact_deleted = Signal()  # kwargs: contact_id, email
stage_changed = Signal()  # kwargs: contact_id, from_stage, to_stage
owner_assigned = Signal()  # kwargs: contact_id, owner_id
activity_recorded = Signal()  # kwargs: activity_id, contact_id, kind
