from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from cabinet.addresses import phone_e164
from cabinet.db import UTCDateTime, db, read, sql_values
from cabinet.stamps import PROGRAM, MemberStamp

if TYPE_CHECKING:
    from cabinet.referrals.models import Member

ClientStatus = Literal["active", "closed"]
ACTIVE: ClientStatus = "active"
CLIENT_STATUSES: tuple[ClientStatus, ...] = get_args(ClientStatus)


class Client(db.Model):  # type: ignore[name-defined,misc]
    """A company with a PBX. The ID is the operator's, never generated here."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_values(CLIENT_STATUSES)})", name="status_known"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("closed_at IS NULL OR status = 'closed'", name="closed_at_closed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    promo_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    # The phone in E.164 when it reads as a number: invitations are matched by it.
    phone_e164: Mapped[str | None] = mapped_column(String(16), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(10), default="active")
    # When the contract closed, as billing reported it (`POST /api/v1/clients/{id}/closure`);
    # NULL for an active client, and for one closed before billing reported closures.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped at «Выйти» and on a password change, so an old session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=0)

    member: Mapped[Member | None] = relationship(back_populates="client", uselist=False)

    @validates("phone")
    def _keep_e164(self, _key: str, phone: str | None) -> str | None:
        self.phone_e164 = phone_e164(phone)
        return phone

    @property
    def active(self) -> bool:
        return self.status == "active"

    # Flask-Login's user interface: the session id carries the session version.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"


MAX_PAYMENT_ID = 64


class Payment(db.Model):  # type: ignore[name-defined,misc]
    """A paid invoice, as billing reports it (`POST /api/v1/clients/{id}/payments`).

    `payment_id` is billing's own id, unique per client: the same one reported twice is one row.
    A referee's first payment after its promo period earns the referrer's reward under terms
    that say so (docs/rules.md, «Награда после первой оплаты»)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("client_id", "payment_id", name="uq_payments_client_payment"),
        CheckConstraint("amount_kopecks > 0", name="amount_positive"),
        CheckConstraint("length(payment_id) > 0", name="payment_id_not_empty"),
        Index("ix_payments_client_paid", "client_id", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    payment_id: Mapped[str] = mapped_column(String(MAX_PAYMENT_ID))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the client paid (billing's)
    amount_kopecks: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the cabinet learnt it


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client as one request reads it: the signed-in client of a page, or the client whose
    cabinet a manager opened. Its columns, read in one cached statement (`load_record`), with
    no ORM identity to build: the services that change a client load the model themselves."""

    id: int
    name: str
    registered_at: datetime
    promo_until: datetime | None
    email: str | None
    phone: str | None
    status: str
    session_version: int
    # The change stamps (cabinet/stamps.py) read with the row: what this client sees, and what
    # every client sees. None for a record made from a model (`of`): no page is named by it.
    stamp: int | None = None
    program_stamp: int | None = None

    # Flask-Login's user interface, as the model's.
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @classmethod
    def of(cls, client: Client) -> ClientRecord:
        return cls(*(getattr(client, name) for name in _RECORD_COLUMNS))


_STAMPS = ("stamp", "program_stamp")
_RECORD_COLUMNS = tuple(field.name for field in fields(ClientRecord) if field.name not in _STAMPS)


@cache
def _record_by_id() -> Select[Any]:
    columns = (getattr(Client, name) for name in _RECORD_COLUMNS)
    return _with_stamps(*columns)


@cache
def session_check() -> Select[Any]:
    """What a repeated read needs of the signed-in client (cabinet/revisits): its status,
    session version and change stamps, as `load_record` reads them."""
    return _with_stamps(Client.status, Client.session_version)


def _with_stamps(*columns: Any) -> Select[Any]:
    own = select(MemberStamp.stamp).where(MemberStamp.client_id == Client.id)
    everyone = select(MemberStamp.stamp).where(MemberStamp.client_id == PROGRAM)
    return select(*columns, own.scalar_subquery(), everyone.scalar_subquery()).where(
        Client.id == bindparam("client_id", type_=Integer())
    )


def load_record(client_id: int) -> ClientRecord | None:
    """One indexed statement, rows as columns (an ORM load costs twice as much)."""
    row = read(_record_by_id(), {"client_id": client_id}).first()
    return None if row is None else ClientRecord(*row)
