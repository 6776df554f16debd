"""Kept for its importers: the masking lives in `ragcode.chat.pii`."""

from __future__ import annotations

from ragcode.chat.pii import PLACEHOLDERS, has_pattern_pii, mask_patterns

__all__ = ["PLACEHOLDERS", "has_pattern_pii", "mask_patterns"]
