"""One rendered part to one Bot API call through aiogram, and aiogram errors to `SendError`."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import ClientError

from adapters.base import SendError
from adapters.telegram_render import callback_data, media_kind
from bot.model import Button, Outbound


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: quick replies read best stacked, and long titles stay whole."""
    if not buttons:
        return None
    rows = [
        [InlineKeyboardButton(text=b.title or b.payload, callback_data=callback_data(b.payload))]
        for b in buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send_part(bot: Bot, chat_id: int | str, part: Outbound) -> str:
    """Send one rendered part; returns the provider message id ``{chat_id}:{message_id}``."""
    markup = keyboard(part.buttons)
    try:
        message = await _call(bot, chat_id, part, markup)
    except (TimeoutError, AiogramError, ClientError) as exc:
        raise send_error(exc) from exc
    return f"{message.chat.id}:{message.message_id}"


async def _call(
    bot: Bot, chat_id: int | str, part: Outbound, markup: InlineKeyboardMarkup | None
) -> Message:
    if not part.media:
        return await bot.send_message(chat_id=chat_id, text=part.text, reply_markup=markup)
    media = part.media[0]
    # A URL lets Telegram fetch the file; a file_id we received can be sent back as is.
    file = media.url or media.ref
    caption = part.text or None
    if media_kind(media) == "photo":
        return await bot.send_photo(
            chat_id=chat_id, photo=file, caption=caption, reply_markup=markup
        )
    return await bot.send_document(
        chat_id=chat_id, document=file, caption=caption, reply_markup=markup
    )


def send_error(exc: BaseException) -> SendError:
    """Classify a failure: retry what may pass later, fail what will never pass."""
    if isinstance(exc, TelegramRetryAfter):
        return SendError(
            exc.message, retryable=True, code="429", retry_after=float(exc.retry_after)
        )
    if isinstance(exc, TelegramForbiddenError):  # bot blocked, kicked, or user deactivated
        return SendError(exc.message, retryable=False, code="403", unreachable=True)
    if isinstance(exc, TelegramMigrateToChat):  # a group became a supergroup with a new id
        return SendError(exc.message, retryable=False, code="migrated")
    if isinstance(exc, TelegramEntityTooLarge):  # a TelegramNetworkError, but permanent
        return SendError(exc.message, retryable=False, code="413")
    if isinstance(exc, TelegramBadRequest):
        return SendError(exc.message, retryable=False, code="400")
    if isinstance(exc, TelegramUnauthorizedError):  # the token was revoked
        return SendError(exc.message, retryable=False, code="401")
    if isinstance(exc, TelegramNotFound):
        return SendError(exc.message, retryable=False, code="404")
    if isinstance(exc, TelegramServerError):
        return SendError(exc.message, retryable=True, code="5xx")
    if isinstance(exc, TelegramNetworkError):
        code = "timeout" if "timeout" in exc.message.lower() else "network"
        return SendError(exc.message, retryable=True, code=code)
    if isinstance(exc, ClientDecodeError):  # e.g. an HTML error page from a proxy in between
        return SendError(f"undecodable response: {exc.message}", retryable=True, code="decode")
    if isinstance(exc, TelegramAPIError):
        return SendError(exc.message, retryable=False, code="api_error")
    if isinstance(exc, ClientError | TimeoutError):
        return SendError(f"{type(exc).__name__}: {exc}", retryable=True, code="network")
    return SendError(f"{type(exc).__name__}: {exc}", retryable=False, code="error")
