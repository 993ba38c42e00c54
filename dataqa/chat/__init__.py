"""Conversation, instruction and preference data: formats and the canonical turns the
conversation checks read."""

from dataqa.chat.formats import (
    ROLES,
    SCHEMA_COLUMNS,
    SCHEMAS,
    conversations,
    detect_schema,
    prompt_text,
    render,
    render_record,
)

__all__ = [
    "ROLES",
    "SCHEMAS",
    "SCHEMA_COLUMNS",
    "conversations",
    "detect_schema",
    "prompt_text",
    "render",
    "render_record",
]
