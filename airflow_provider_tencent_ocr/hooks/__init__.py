"""Hooks for Tencent Cloud: a signed generic connection and typed OCR calls."""
