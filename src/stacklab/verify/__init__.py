"""Verify: boot the test image in the lab and check it end to end (`stacklab verify`)."""
