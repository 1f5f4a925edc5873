"""Loopback doubles of the outside world (Twilio, SMTP) for tests and benchmarks.

They are real servers on 127.0.0.1 that the production transports talk to unchanged.
"""
