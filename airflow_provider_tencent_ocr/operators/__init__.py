"""Operators for Tencent Cloud OCR."""
