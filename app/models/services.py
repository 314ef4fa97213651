"""Service listings, the category taxonomy and who a listing supports."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime
from app.extensions import db
from app.models.base import TimestampMixin, enum_column

# The highest price per unit a listing may carry: £5,000. Anything above is a typing slip.
MAX_PRICE_PENCE = 500_000


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)

    services = relationship("Service", back_populates="category", lazy="dynamic")

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class PriceUnit(str, enum.Enum):
    HOUR = "hour"
    VISIT = "visit"
    DAY = "day"
    NIGHT = "night"
    WEEK = "week"
    ITEM = "item"

    @property
    def label(self) -> str:
        return self.value

    @property
    def per_label(self) -> str:
        """'an hour', 'a visit'... for 'per unit' phrasing."""
        return ("an " if self in (PriceUnit.HOUR, PriceUnit.ITEM) else "a ") + self.value


class ServiceStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FundingRoute(str, enum.Enum):
    """How a person pays. A listing accepts one or more of these."""

    PERSONAL_BUDGET = "personal_budget"  # council-managed account or ISF
    PREPAID_CARD = "prepaid_card"  # direct payment on a council prepaid card
    SELF_FUNDER = "self_funder"  # the person's own money

    @property
    def label(self) -> str:
        return _FUNDING_LABELS[self]

    @property
    def column(self) -> str:
        return f"accepts_{self.value}"


_FUNDING_LABELS = {
    FundingRoute.PERSONAL_BUDGET: "Personal budget",
    FundingRoute.PREPAID_CARD: "Prepaid card (direct payment)",
    FundingRoute.SELF_FUNDER: "Paying for yourself",
}


class PeopleGroup(str, enum.Enum):
    """A group of people a service is set up to support: CQC's service user bands and
    specialisms, in plain English (services/people_supported.py reads CQC's own names).
    People see them in this order, and search keeps them as bits in this order, so a new
    group goes at the end."""

    OLDER_PEOPLE = "older_people"
    YOUNGER_ADULTS = "younger_adults"
    CHILDREN = "children"
    DEMENTIA = "dementia"
    LEARNING_DISABILITIES = "learning_disabilities"
    AUTISM = "autism"
    MENTAL_HEALTH = "mental_health"
    PHYSICAL_DISABILITIES = "physical_disabilities"
    SENSORY_IMPAIRMENTS = "sensory_impairments"
    SUBSTANCE_MISUSE = "substance_misuse"
    EATING_DISORDERS = "eating_disorders"
    END_OF_LIFE = "end_of_life"

    @property
    def label(self) -> str:
        return _GROUP_LABELS[self]


_GROUP_LABELS = {
    PeopleGroup.OLDER_PEOPLE: "Older people (65 and over)",
    PeopleGroup.YOUNGER_ADULTS: "Younger adults (18 to 64)",
    PeopleGroup.CHILDREN: "Children and young people (0 to 18)",
    PeopleGroup.DEMENTIA: "People living with dementia",
    PeopleGroup.LEARNING_DISABILITIES: "Learning disabilities",
    PeopleGroup.AUTISM: "Autistic people",
    PeopleGroup.MENTAL_HEALTH: "Mental health conditions",
    PeopleGroup.PHYSICAL_DISABILITIES: "Physical disabilities",
    PeopleGroup.SENSORY_IMPAIRMENTS: "Sensory impairments (sight or hearing)",
    PeopleGroup.SUBSTANCE_MISUSE: "People who misuse drugs or alcohol",
    PeopleGroup.EATING_DISORDERS: "Eating disorders",
    PeopleGroup.END_OF_LIFE: "End of life care",
}

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Service(TimestampMixin, db.Model):
    """A service listing: something a provider offers at a price per unit."""

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(f"price_pence > 0 AND price_pence <= {MAX_PRICE_PENCE}", name="price_in_range"),
        CheckConstraint("min_units >= 1 AND min_units <= 100", name="min_units_in_range"),
        CheckConstraint(
            "accepts_personal_budget OR accepts_prepaid_card OR accepts_self_funder",
            name="accepts_a_funding_route",
        ),
        CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),
        CheckConstraint("capacity >= 1 AND capacity <= 500", name="capacity_in_range"),
        CheckConstraint("review_count >= 0 AND review_sum >= review_count AND review_sum <= 5 * review_count", name="review_totals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(160), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    price_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    price_unit: Mapped[PriceUnit] = mapped_column(enum_column(PriceUnit, "price_unit"), nullable=False)
    min_units: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=1)
    # How many people the service can serve at the same time (per 15 minutes for hourly
    # services, per day, night or week for the others).
    capacity: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=1, server_default="1")

    accepts_personal_budget: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    accepts_prepaid_card: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    accepts_self_funder: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    # Its published reviews (not taken down): how many, and their ratings added up. Kept by
    # the reviews service as each is published or taken down (services/reviews/counting.py),
    # so search and ranking read two numbers rather than every review.
    review_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    review_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    # Free-text notes on when the service runs, beside the structured weekly hours.
    availability_note: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    status: Mapped[ServiceStatus] = mapped_column(
        enum_column(ServiceStatus, "service_status"),
        nullable=False,
        default=ServiceStatus.DRAFT,
        index=True,
    )
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    provider = relationship("Provider", back_populates="services", lazy="joined")
    category = relationship("Category", back_populates="services", lazy="joined")
    hours: Mapped[list[ServiceHours]] = relationship(
        back_populates="service",
        cascade="all, delete-orphan",
        order_by="(ServiceHours.weekday, ServiceHours.opens_at)",
    )
    supported_groups: Mapped[list[SupportedGroup]] = relationship(back_populates="service", cascade="all, delete-orphan")

    @property
    def funding_routes(self) -> list[FundingRoute]:
        return [route for route in FundingRoute if getattr(self, route.column)]

    def accepts(self, route: FundingRoute) -> bool:
        return bool(getattr(self, route.column))

    @property
    def people_supported(self) -> list[PeopleGroup]:
        """Who the service is set up to support, in the order people see the groups in."""
        declared = {row.people_group for row in self.supported_groups}
        return [group for group in PeopleGroup if group in declared]

    @property
    def is_published(self) -> bool:
        return self.status is ServiceStatus.PUBLISHED

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.title!r}>"


class ServiceHours(db.Model):
    """Usual weekly hours: the service runs on ``weekday`` (0 = Monday) between two times,
    into the next morning when it closes earlier than it opens."""

    __tablename__ = "service_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_in_range"),
        # closes_at earlier than opens_at means the session runs overnight (22:00 to 07:00).
        CheckConstraint("closes_at <> opens_at", name="opens_and_closes_differ"),
        UniqueConstraint("service_id", "weekday", "opens_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    opens_at: Mapped[dt.time] = mapped_column(Time, nullable=False)
    closes_at: Mapped[dt.time] = mapped_column(Time, nullable=False)

    service: Mapped[Service] = relationship(back_populates="hours")

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]

    @property
    def overnight(self) -> bool:
        return self.closes_at < self.opens_at


class SupportedGroup(db.Model):
    """One group of people a service is set up to support: a listing has none or several,
    each once."""

    __tablename__ = "service_people_supported"
    __table_args__ = (UniqueConstraint("service_id", "people_group"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), nullable=False)
    people_group: Mapped[PeopleGroup] = mapped_column(enum_column(PeopleGroup, "people_group"), nullable=False)

    service: Mapped[Service] = relationship(back_populates="supported_groups")
