"""Provider organisations: who they are, their CQC ratings and where they work."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, enum_column


class CQCRating(str, enum.Enum):
    """The Care Quality Commission's four ratings, best first."""

    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"

    @property
    def label(self) -> str:
        return _CQC_LABELS[self]

    @property
    def rank(self) -> int:
        """4 for Outstanding down to 1 for Inadequate: higher is better."""
        return _CQC_RANKS[self]

    @classmethod
    def at_least(cls, minimum: CQCRating) -> list[CQCRating]:
        return [r for r in cls if r.rank >= minimum.rank]


_CQC_LABELS = {
    CQCRating.OUTSTANDING: "Outstanding",
    CQCRating.GOOD: "Good",
    CQCRating.REQUIRES_IMPROVEMENT: "Requires improvement",
    CQCRating.INADEQUATE: "Inadequate",
}
_CQC_RANKS = {
    CQCRating.OUTSTANDING: 4,
    CQCRating.GOOD: 3,
    CQCRating.REQUIRES_IMPROVEMENT: 2,
    CQCRating.INADEQUATE: 1,
}

# The five key questions CQC asks of every regulated service, in CQC's order.
KEY_QUESTIONS = (
    ("safe", "Safe"),
    ("effective", "Effective"),
    ("caring", "Caring"),
    ("responsive", "Responsive"),
    ("well_led", "Well-led"),
)


class ProviderStatus(str, enum.Enum):
    """A provider's standing with the marketplace (not the framework: see frameworks)."""

    PENDING = "pending"  # signed up, waiting for a commissioner to verify it
    VERIFIED = "verified"  # listed publicly
    REJECTED = "rejected"  # not verified, with a reason
    SUSPENDED = "suspended"  # taken off the marketplace by a commissioner

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def _rating_column(name: str):
    return mapped_column(enum_column(CQCRating, f"cqc_{name}_rating"), nullable=True)


class Provider(TimestampMixin, db.Model):
    __tablename__ = "providers"
    __table_args__ = (
        CheckConstraint(
            "service_radius_miles IS NULL OR (service_radius_miles >= 1 AND service_radius_miles <= 100)",
            name="service_radius_in_range",
        ),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        # One CQC location id per provider still in play (pending, verified or suspended):
        # a provider the council rejected keeps the id it gave, but no longer blocks it.
        Index(
            "uq_providers_cqc_location_id_live",
            "cqc_location_id",
            unique=True,
            sqlite_where=text("status <> 'rejected'"),
            postgresql_where=text("status <> 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(160), nullable=False)  # trading name, shown to people
    legal_name: Mapped[str | None] = mapped_column(String(200))  # registered company or charity name
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    website: Mapped[str | None] = mapped_column(String(300))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str | None] = mapped_column(String(80))
    base_postcode: Mapped[str | None] = mapped_column(String(8))  # normalised, e.g. "PE1 1XX"
    base_district: Mapped[str | None] = mapped_column(ForeignKey("postcode_districts.outward_code"), index=True)
    # Areas served: the districts listed in ``areas``, and/or everywhere within this radius
    # of the base postcode's district.
    service_radius_miles: Mapped[int | None] = mapped_column(Integer)

    # CQC registration. A provider that CQC does not regulate (meals, transport, equipment,
    # advocacy...) has no location id; a regulated one not yet inspected has ids but no ratings.
    cqc_provider_id: Mapped[str | None] = mapped_column(String(20))
    cqc_location_id: Mapped[str | None] = mapped_column(String(20))  # unique among live providers (see above)
    cqc_overall: Mapped[CQCRating | None] = _rating_column("overall")
    cqc_safe: Mapped[CQCRating | None] = _rating_column("safe")
    cqc_effective: Mapped[CQCRating | None] = _rating_column("effective")
    cqc_caring: Mapped[CQCRating | None] = _rating_column("caring")
    cqc_responsive: Mapped[CQCRating | None] = _rating_column("responsive")
    cqc_well_led: Mapped[CQCRating | None] = _rating_column("well_led")
    cqc_inspection_date: Mapped[dt.date | None] = mapped_column(Date)
    # When CQC published the ratings above (its files' "Publication Date"), set by the CQC import.
    cqc_rating_published_on: Mapped[dt.date | None] = mapped_column(Date)

    status: Mapped[ProviderStatus] = mapped_column(
        enum_column(ProviderStatus, "provider_status"),
        nullable=False,
        default=ProviderStatus.PENDING,
        index=True,
    )
    status_reason: Mapped[str | None] = mapped_column(Text)

    district = relationship("PostcodeDistrict", lazy="joined")
    areas: Mapped[list[ProviderArea]] = relationship(
        back_populates="provider", cascade="all, delete-orphan", order_by="ProviderArea.outward_code"
    )
    services = relationship("Service", back_populates="provider", lazy="dynamic")
    memberships = relationship("FrameworkMembership", back_populates="provider")

    @property
    def is_cqc_regulated(self) -> bool:
        return bool(self.cqc_location_id)

    @property
    def is_rated(self) -> bool:
        return self.cqc_overall is not None

    @property
    def key_question_ratings(self) -> list[tuple[str, CQCRating | None]]:
        return [(label, getattr(self, f"cqc_{field}")) for field, label in KEY_QUESTIONS]

    @property
    def area_codes(self) -> list[str]:
        return [a.outward_code for a in self.areas]

    def __repr__(self) -> str:
        return f"<Provider {self.id} {self.slug}>"


class ProviderArea(db.Model):
    """A postcode district that a provider serves."""

    __tablename__ = "provider_areas"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True)
    outward_code: Mapped[str] = mapped_column(ForeignKey("postcode_districts.outward_code"), primary_key=True, index=True)

    provider: Mapped[Provider] = relationship(back_populates="areas")
