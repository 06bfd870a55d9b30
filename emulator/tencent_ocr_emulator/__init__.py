"""A local emulator of the Tencent Cloud API: real HTTP, real signature checks, no account."""
