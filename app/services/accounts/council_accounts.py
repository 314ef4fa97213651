"""Council accounts (commissioners and admins): created by an admin, moved between the
two roles, deactivated and reactivated, found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Role,
    User,
)
from app.services import audit, mail, user_sessions
from app.services.accounts.identity import new_user
from app.services.accounts.password_changes import issue_password_token
from app.services.errors import Conflict, ValidationError
from app.services.pagination import paginate


def create_council_user(
    actor: User | None, *, name: str, email: str, role: Role, set_password_link: Callable[[str], str], hours: int = 72
) -> User:
    """An admin adds a commissioner or admin; they get an email to choose a password."""
    if role not in (Role.COMMISSIONER, Role.ADMIN):
        raise ValidationError({"role": "Choose commissioner or admin"})
    user = new_user(email=email, name=name, password=None, role=role)
    token = issue_password_token(user, hours)
    audit.record(actor, "account.created_by_admin", "user", user.id, after={"email": user.email, "role": role})
    mail.queue(
        user.email,
        f"You have been given a {role.value} account",
        f"Hello {user.name},\n\n{actor.name if actor else 'The council'} has given you a {role.value} account. "
        "To choose your password, open this "
        f"link within {hours} hours:\n\n{set_password_link(token)}\n\nYou will then be asked to set up two-step verification.",
    )
    db.session.commit()
    return user


COUNCIL_ROLES = (Role.COMMISSIONER, Role.ADMIN)


def change_role(actor: User, user: User, role: Role) -> User:
    """Move a council account between commissioner and admin (other roles hold data
    that belongs to that role, so they cannot be changed)."""
    if user.id == actor.id:
        raise Conflict("You cannot change your own role. Ask another admin.")
    if user.role not in COUNCIL_ROLES or role not in COUNCIL_ROLES:
        raise Conflict("Only council accounts can move between commissioner and admin.")
    if user.role is role:
        return user
    before = {"role": user.role}
    user.role = role
    user_sessions.end_all(user, user_sessions.EndReason.ROLE_CHANGED)
    audit.record(actor, "account.role_changed", "user", user.id, before=before, after={"role": role})
    db.session.commit()
    return user


def set_active(actor: User, user: User, active: bool, reason: str) -> User:
    if user.id == actor.id:
        raise Conflict("You cannot deactivate your own account.")
    reason = (reason or "").strip()
    if not active and not reason:
        raise ValidationError({"reason": "Enter why you are deactivating this account"})
    if user.active == active:
        return user
    user.active = active
    if not active:
        user_sessions.end_all(user, user_sessions.EndReason.DEACTIVATED)
    audit.record(
        actor,
        "account.reactivated" if active else "account.deactivated",
        "user",
        user.id,
        before={"active": not active},
        after={"active": active},
        note=reason or None,
    )
    db.session.commit()
    return user


def search_users(text: str | None = None, role: Role | None = None, page: int = 1):
    query = select(User)
    if text:
        like = f"%{text.strip().lower()}%"
        query = query.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    if role is not None:
        query = query.where(User.role == role)
    return paginate(query.order_by(User.name, User.id), page, 50)


def active_council_users(role: Role) -> list[User]:
    """Every active commissioner, or every active admin: whom the service tells of work
    waiting for the council, or of a scheduled job failing."""
    if role not in COUNCIL_ROLES:
        raise ValueError("a council role: commissioner or admin")
    return list(db.session.execute(select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)).scalars())
