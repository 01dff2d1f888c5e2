"""Schemathesis hooks of wacloud's fuzz runs (loaded through SCHEMATHESIS_HOOKS by schemathesis.ts).

String formats the OpenAPI documents use beyond JSON Schema's own, with what a valid value looks like, so the fuzzer
generates schema-valid values for them (it would otherwise take any string, which the server rightly refuses):
- `emoji`: one emoji (a reaction; see instance/src/http/schemas-actions.ts), or the empty string.
"""
from hypothesis import strategies as st

import schemathesis

EMOJI = ["", "👍", "❤️", "😂", "😮", "😢", "🙏", "👍🏽", "🇧🇷", "👨‍👩‍👧", "✅", "⭐"]

schemathesis.openapi.format("emoji", st.sampled_from(EMOJI))
