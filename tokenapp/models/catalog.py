"""What can be bought (packages) and what can be spent on (AI features)."""

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class TokenPackage(Model):
    """A token pack sold through Stripe Checkout."""

    __tablename__ = "token_packages"
    __table_args__ = (
        CheckConstraint("tokens > 0", name="tokens_positive"),
        CheckConstraint("bonus_tokens >= 0", name="bonus_not_negative"),
        CheckConstraint("price_cents > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    tokens: Mapped[int] = mapped_column(Integer)
    bonus_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="usd", server_default="usd")
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    stripe_product_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255), nullable=True)

    @property
    def total_tokens(self) -> int:
        """Tokens credited by one purchase, bonus included."""
        return self.tokens + self.bonus_tokens

    def to_dict(self) -> dict:
        """The public JSON shape of the contract."""
        return {
            "key": self.key,
            "name": self.name,
            "tokens": self.tokens,
            "bonus_tokens": self.bonus_tokens,
            "price_cents": self.price_cents,
            "currency": self.currency,
        }


class AIFeature(Model):
    """An AI feature and its price in tokens."""

    __tablename__ = "ai_features"
    __table_args__ = (CheckConstraint("cost >= 0", name="cost_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(40), default="general", server_default="general")
    cost: Mapped[int] = mapped_column(Integer)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    def to_dict(self) -> dict:
        """The public JSON shape of the contract."""
        return {"key": self.key, "name": self.name, "description": self.description, "cost": self.cost}
