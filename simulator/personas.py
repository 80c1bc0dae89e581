"""The simulated customers a phone can be: a name, a phone number and a Telegram account.

The page offers these in each phone's identity picker; any other valid number may be typed.
The first one is the default of every phone, so SMS and WhatsApp start as the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.fakes.telegram_updates import TgUser


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    phone: str  # E.164
    telegram: TgUser

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phone": self.phone,
            "telegram": {
                "id": self.telegram.id,
                "first_name": self.telegram.first_name,
                "last_name": self.telegram.last_name,
                "username": self.telegram.username,
                "language_code": self.telegram.language_code,
            },
        }


PERSONAS = (
    Persona("Ayşe Yılmaz", "+905551112233", TgUser(111_222_333, "Ayşe", "Yılmaz", "ayse_y", "tr")),
    Persona(
        "Mehmet Demir", "+905324445566", TgUser(444_555_666, "Mehmet", "Demir", "mehmetd", "tr")
    ),
    Persona("Emma Clark", "+447700900123", TgUser(777_888_999, "Emma", "Clark", "emmac", "en")),
)


def persona_by_phone(phone: str) -> Persona | None:
    return next((p for p in PERSONAS if p.phone == phone), None)


def telegram_user(user_id: int) -> TgUser | None:
    return next((p.telegram for p in PERSONAS if p.telegram.id == user_id), None)
