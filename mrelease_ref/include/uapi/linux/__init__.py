"""User-space ABI headers (include/uapi/linux)."""
