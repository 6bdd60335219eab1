"""All models, importable from one place (Alembic's env imports this to see the whole schema)."""
from .audit import AuditEvent
from .campaign import (DATA_HANDLING_SERVICES, STAGE_ROLES, Campaign, CampaignStage, LaunchTemplate,
                       StageDependency)
from .experiment import (AUTH_METHODS, ROLES, SERVICES, ApiToken, Experiment, ExperimentMembership,
                         ServiceCredential, User)
from .submission import (PARENT_KINDS, SUBMISSION_STATUSES, DataDispatcherSubmission, Submission,
                         SubmissionStatusEvent)

__all__ = [
    "AuditEvent", "Campaign", "CampaignStage", "LaunchTemplate", "StageDependency", "ApiToken", "Experiment",
    "ExperimentMembership", "ServiceCredential", "User", "DataDispatcherSubmission", "Submission",
    "SubmissionStatusEvent", "DATA_HANDLING_SERVICES", "STAGE_ROLES", "ROLES", "SERVICES", "AUTH_METHODS",
    "PARENT_KINDS", "SUBMISSION_STATUSES",
]
