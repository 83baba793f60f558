"""Every model, importable from one place (the migrations compare against ``Base.metadata``)."""

from __future__ import annotations

from icarus.store.base import Base
from icarus.store.models_audit import GENESIS_HASH, AuditEvent, AuditHead
from icarus.store.models_cases import (
    DeconflictionAlert,
    Lead,
    LeadMarker,
    Operation,
    OperationAgency,
    Outcome,
    OutcomeChange,
    OutcomeState,
    Referral,
)
from icarus.store.models_earlier import EarlierIntelImport, EarlierMarker, EarlierSubject
from icarus.store.models_networks import Network, NetworkMember, ReferralPackage
from icarus.store.models_people import Agency, ApiToken, Role, User
from icarus.store.models_web import LoginThrottle, WebSession

__all__ = ["GENESIS_HASH", "Agency", "ApiToken", "AuditEvent", "AuditHead", "Base",
           "DeconflictionAlert", "EarlierIntelImport", "EarlierMarker", "EarlierSubject",
           "Lead", "LeadMarker", "LoginThrottle", "Network", "NetworkMember", "Operation",
           "OperationAgency", "Outcome", "OutcomeChange", "OutcomeState", "Referral",
           "ReferralPackage", "Role", "User", "WebSession"]
