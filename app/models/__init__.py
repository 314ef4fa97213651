"""All models, imported here so Alembic and the app see the whole schema."""

from app.models.frameworks import (  # noqa: F401
    DEFAULT_PRICE_WEIGHT,
    DEFAULT_QUALITY_WEIGHT,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
)
from app.models.geo import PostcodeDistrict  # noqa: F401
from app.models.providers import CQCRating, Provider, ProviderArea, ProviderStatus  # noqa: F401
from app.models.services import (  # noqa: F401
    MAX_PRICE_PENCE,
    WEEKDAYS,
    Category,
    FundingRoute,
    PriceUnit,
    Service,
    ServiceHours,
    ServiceStatus,
)
from app.models.search import OutboxEntity, SearchChannel, SearchLog, SearchOutboxEntry  # noqa: F401
from app.models.users import Role, User  # noqa: F401
