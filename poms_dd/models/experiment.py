"""Experiments, their service credentials, users, memberships and API tokens (SPEC §3, §7)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, true)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .vocab import AuthMethod, Role, Service, one_of



class Experiment(Base):
    """An experiment and its onboarding settings (URLs of MetaCat, Data Dispatcher and Rucio)."""

    __tablename__ = "experiment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    metacat_url: Mapped[str | None] = mapped_column(String(500))
    metacat_auth_url: Mapped[str | None] = mapped_column(String(500))
    metacat_gui_url: Mapped[str | None] = mapped_column(String(500))
    dd_url: Mapped[str | None] = mapped_column(String(500))
    dd_auth_url: Mapped[str | None] = mapped_column(String(500))
    dd_gui_url: Mapped[str | None] = mapped_column(String(500))
    rucio_host: Mapped[str | None] = mapped_column(String(500))
    rucio_auth_host: Mapped[str | None] = mapped_column(String(500))
    rucio_account: Mapped[str | None] = mapped_column(String(100))
    service_role: Mapped[str | None] = mapped_column(String(100))
    default_namespace: Mapped[str | None] = mapped_column(String(200))
    default_worker_timeout: Mapped[int | None] = mapped_column(Integer)
    default_idle_timeout: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # TLS and timeouts of the adapters (poms_dd/adapters/README.md): empty ca_path = $X509_CERT_DIR, then
    # $REQUESTS_CA_BUNDLE, then certifi; empty service_timeout = the adapters' 60 s; empty rucio_vo = "def".
    ca_path: Mapped[str | None] = mapped_column(String(500))
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    service_timeout: Mapped[int | None] = mapped_column(Integer)
    rucio_vo: Mapped[str | None] = mapped_column(String(50))

    credentials: Mapped[list["ServiceCredential"]] = relationship(
        back_populates="experiment", cascade="all, delete-orphan")
    memberships: Mapped[list["ExperimentMembership"]] = relationship(
        back_populates="experiment", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("default_worker_timeout IS NULL OR default_worker_timeout >= 0", name="worker_timeout"),
        CheckConstraint("default_idle_timeout IS NULL OR default_idle_timeout >= 0", name="idle_timeout"),
        CheckConstraint("service_timeout IS NULL OR service_timeout > 0", name="service_timeout"),
    )

    def credential(self, service: str) -> "ServiceCredential | None":
        return next((c for c in self.credentials if c.service == service), None)


class ServiceCredential(Base):
    """How poms_dd authenticates to one service of one experiment.

    ``secret_encrypted`` holds the Fernet-encrypted password or token contents; it is write-only in the UI.
    """

    __tablename__ = "service_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiment.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default=AuthMethod.PASSWORD)
    username: Mapped[str | None] = mapped_column(String(200))
    secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_file: Mapped[str | None] = mapped_column(String(500))
    cert_path: Mapped[str | None] = mapped_column(String(500))
    key_path: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    experiment: Mapped[Experiment] = relationship(back_populates="credentials")

    __table_args__ = (
        UniqueConstraint("experiment_id", "service"),
        one_of("service", Service, name="service"),
        one_of("method", AuthMethod, name="method"),
    )


class User(Base):
    """A person (or script identity).  ``password_hash`` is only used in local-password mode."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Stored in the browser session at sign-in; bumping it (sign-out, password change, disabling) ends every
    # session signed in before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list["ExperimentMembership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan")

    # flask-login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ExperimentMembership(Base):
    """A user's role in an experiment: analysis, production or superuser."""

    __tablename__ = "experiment_membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiment.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32), default=Role.ANALYSIS)

    user: Mapped[User] = relationship(back_populates="memberships")
    experiment: Mapped[Experiment] = relationship(back_populates="memberships")

    __table_args__ = (
        UniqueConstraint("user_id", "experiment_id"),
        one_of("role", Role, name="role"),
    )


class ApiToken(Base):
    """A bearer token for scripts.  Only the SHA-256 of the token is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SignInFailure(Base):
    """A failed password sign-in, kept for the sign-in rate limit's window and then pruned.  Shared by every
    process of the app through the database."""

    __tablename__ = "signin_failure"
    __table_args__ = (Index("ix_signin_failure_username_at", "username", "failed_at"),
                      Index("ix_signin_failure_address_at", "client_address", "failed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    client_address: Mapped[str] = mapped_column(String(100))
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
