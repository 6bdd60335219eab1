"""All models and vocabularies, importable from one place (Alembic's env imports this to see the whole schema)."""
from .audit import AuditEvent
from .campaign import Campaign, CampaignStage, LaunchTemplate, StageDependency
from .experiment import ApiToken, Experiment, ExperimentMembership, ServiceCredential, SignInFailure, User
from .submission import DataDispatcherSubmission, SliceDelivery, Submission, SubmissionStatusEvent
from .vocab import (AuthMethod, AutoRecovery, CampaignState, CompletionType, DataHandlingService, Executor,
                    HandleState, LaunchKind, ParentKind, Role, Service, StageRole, SubmissionStatus, values)

__all__ = [
    "AuditEvent", "Campaign", "CampaignStage", "LaunchTemplate", "StageDependency", "ApiToken", "Experiment",
    "ExperimentMembership", "ServiceCredential", "SignInFailure", "User", "DataDispatcherSubmission", "SliceDelivery", "Submission",
    "SubmissionStatusEvent", "AuthMethod", "AutoRecovery", "CampaignState", "CompletionType",
    "DataHandlingService", "Executor", "HandleState", "LaunchKind", "ParentKind", "Role", "Service", "StageRole",
    "SubmissionStatus", "values",
]
