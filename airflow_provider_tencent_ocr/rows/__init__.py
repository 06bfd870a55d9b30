"""Row rules: validators (check digits), personal-data modes and the per-row transform before writing."""
