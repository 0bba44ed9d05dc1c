"""What capture tells the rest of Leadflow. Sent on commit, carrying ids only."""

from django.dispatch import Signal

form_submitted = Signal()  # kwargs: submission_id, form_id, contact_id, created
