"""Accounts: registration, signing in, passwords, council accounts, and who may act for whom.

The questions other parts of the product ask about people live here:

* ``can_act_for(user, citizen)``: may this user arrange things for this citizen (the
  citizen themselves, or a representative they invited)?
* ``citizens_represented_by(user)`` / ``people_user_acts_for(user)``
* ``provider_for_staff(user)`` / ``staff_membership(user)``: a provider's team member's
  organisation and role.

Modules:
  identity           email addresses and names, finding and making accounts
  details            changing your name, how you pay, and asking for a new email address
  email_changes      a new email address confirmed by a link sent to it before it replaces the old
  signing_in         signing in and out, and the audit of bursts of failures
  password_changes   changing a password, and resetting a forgotten one
  council_accounts   commissioners and admins: created, moved between roles, deactivated
  acting_for         representatives and provider staff
  unlocking          letting an account's owner sign in while guesses from elsewhere pause it
"""

from app.services.accounts.acting_for import (
    can_act_for,
    citizens_represented_by,
    people_user_acts_for,
    provider_for_staff,
    representatives_of,
    staff_membership,
)
from app.services.accounts.council_accounts import (
    COUNCIL_ROLES,
    active_council_users,
    change_role,
    create_council_user,
    search_users,
    set_active,
)
from app.services.accounts.details import update_details
from app.services.accounts.email_changes import (
    EMAIL_NOW_TAKEN,
    EmailTaken,
    cancel_email_change,
    check_email_change_token,
    confirm_email_change,
    pending_email_change,
)
from app.services.accounts.identity import (
    CURRENT_PASSWORD_WRONG,
    EMAIL_CHANGE_NEEDS_PASSWORD,
    EMAIL_IN_USE,
    EMAIL_INVALID,
    EMAIL_MISSING,
    EMAIL_TAKEN,
    NAME_MISSING,
    NAME_TOO_LONG,
    check_new_password,
    clean_name,
    flush_unique_email,
    get_user,
    new_user,
    normalise_email,
    register_citizen,
    user_by_email,
    users_by_id,
)
from app.services.accounts.password_changes import (
    LINK_NOT_VALID,
    InvalidToken,
    change_password,
    check_password_token,
    issue_password_token,
    request_password_reset,
    reset_password,
)
from app.services.accounts.signing_in import (
    WRONG_PASSWORD,
    AccountDeactivated,
    SignInFailed,
    authenticate,
    complete_sign_in,
    sign_out,
    sign_out_other_sessions,
)
from app.services.accounts.unlocking import send_unlock_link, user_for_unlock_token
from app.services.facade import seal

__all__ = [
    "COUNCIL_ROLES",
    "CURRENT_PASSWORD_WRONG",
    "EMAIL_CHANGE_NEEDS_PASSWORD",
    "EMAIL_INVALID",
    "EMAIL_IN_USE",
    "EMAIL_MISSING",
    "EMAIL_NOW_TAKEN",
    "EMAIL_TAKEN",
    "LINK_NOT_VALID",
    "NAME_MISSING",
    "NAME_TOO_LONG",
    "WRONG_PASSWORD",
    "AccountDeactivated",
    "EmailTaken",
    "InvalidToken",
    "SignInFailed",
    "active_council_users",
    "authenticate",
    "can_act_for",
    "cancel_email_change",
    "change_password",
    "change_role",
    "check_email_change_token",
    "check_new_password",
    "check_password_token",
    "citizens_represented_by",
    "clean_name",
    "complete_sign_in",
    "confirm_email_change",
    "create_council_user",
    "flush_unique_email",
    "get_user",
    "issue_password_token",
    "new_user",
    "normalise_email",
    "pending_email_change",
    "people_user_acts_for",
    "provider_for_staff",
    "register_citizen",
    "representatives_of",
    "request_password_reset",
    "reset_password",
    "search_users",
    "send_unlock_link",
    "set_active",
    "sign_out",
    "sign_out_other_sessions",
    "staff_membership",
    "update_details",
    "user_by_email",
    "user_for_unlock_token",
    "users_by_id",
]

seal(__name__)
