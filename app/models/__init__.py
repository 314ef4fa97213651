"""All models, imported here so Alembic and the app see the whole schema."""

from app.models.accounts import (  # noqa: F401
    AccountToken,
    Invitation,
    InvitationKind,
    InvitationStatus,
    OrgRole,
    ProviderStaff,
    RecoveryCode,
    Representation,
    SignInFailure,
    TokenPurpose,
    UserSession,
)
from app.models.audit import AuditEvent, AuditEventImmutable  # noqa: F401
from app.models.audits import AuditFlag, AuditOutcome, AuditQuestion, AuditSample, AuditStatus, BalanceCheck, BudgetAudit  # noqa: F401
from app.models.availability import ServiceClosure  # noqa: F401
from app.models.bookings import (  # noqa: F401
    Booking,
    BookingEvent,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    CapacityCell,
    PaymentMethod,
    VisitStatus,
)
from app.models.budgets import PERIOD_DAYS, BudgetOutcome, BudgetPeriod, BudgetStatus, BudgetType, PersonalBudget  # noqa: F401
from app.models.calendars import CalendarFeed  # noqa: F401
from app.models.council import CouncilDistrict, CouncilSettings, PayBasis, Rounding  # noqa: F401
from app.models.cqc import CQCDeregistration, CQCFile, CQCImportRun, CQCQuestion, CQCRatingChange  # noqa: F401
from app.models.delivery import DisputeState, EcmUpload, ExceptionState, RecordSource, VisitOutcome, VisitRecord  # noqa: F401
from app.models.enquiries import Enquiry, EnquiryMessage, EnquiryStatus  # noqa: F401
from app.models.frameworks import (  # noqa: F401
    DEFAULT_PRICE_WEIGHT,
    DEFAULT_QUALITY_WEIGHT,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
)
from app.models.geo import PostcodeDistrict  # noqa: F401
from app.models.jobs import JobLease, JobRun, RunOutcome, SentReminder  # noqa: F401
from app.models.ledger import (  # noqa: F401
    MAY_GO_NEGATIVE,
    AccountKind,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    TransactionKind,
)
from app.models.mail import EmailStatus, OutboundEmail  # noqa: F401
from app.models.market import (  # noqa: F401
    Intention,
    MarketPosition,
    MarketPositionSection,
    ReferenceRate,
    SpendFact,
    TurnedAwayRequest,
    WayOfPaying,
)
from app.models.needs import CouncilNeedWord  # noqa: F401
from app.models.notifications import Notification  # noqa: F401
from app.models.payment_runs import (  # noqa: F401
    BankAccountStatus,
    LineStatus,
    PaymentRun,
    PaymentRunItem,
    PaymentRunLine,
    ProviderBankAccount,
    RunStatus,
)
from app.models.payments import (  # noqa: F401
    AttemptOperation,
    AttemptState,
    BookingCard,
    CardCustomer,
    CardFunding,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    CardRefund,
    CardSetup,
    CardSetupStatus,
    ClearingSettlement,
    ClearingSettlementKind,
    PaymentAttempt,
    PaymentCard,
    RefundStatus,
    StripeEvent,
)
from app.models.providers import CQCRating, Provider, ProviderArea, ProviderStatus  # noqa: F401
from app.models.reviews import REVIEW_QUESTIONS, RemovalReason, ReportOutcome, Review, ReviewAnswer, ReviewReport  # noqa: F401
from app.models.search import OutboxEntity, SearchChannel, SearchIndexReader, SearchLog, SearchOutboxEntry  # noqa: F401
from app.models.services import (  # noqa: F401
    MAX_PRICE_PENCE,
    WEEKDAYS,
    Category,
    FundingRoute,
    PeopleGroup,
    PriceUnit,
    Service,
    ServiceHours,
    ServiceStatus,
    SupportedGroup,
)
from app.models.users import (  # noqa: F401
    CitizenFunding,
    Role,
    User,
)
