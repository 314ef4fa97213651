"""Places: postcode districts (outward codes) with their centroids, for distance."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PostcodeDistrict(db.Model):
    __tablename__ = "postcode_districts"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN 49 AND 61", name="latitude_in_uk"),
        CheckConstraint("longitude BETWEEN -9 AND 2", name="longitude_in_uk"),
    )

    outward_code: Mapped[str] = mapped_column(String(4), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float, nullable=False)
    longitude: Mapped[float] = mapped_column(Float, nullable=False)
    post_town: Mapped[str] = mapped_column(String(60), nullable=False)
    local_authority: Mapped[str] = mapped_column(String(80), nullable=False)

    def __repr__(self) -> str:
        return f"<PostcodeDistrict {self.outward_code}>"
