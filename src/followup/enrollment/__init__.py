"""Putting a patient on a follow-up plan, and staff changes to that plan afterwards.

`enroll` validates and writes one patient, treatment and its scheduled messages in one
transaction (refusing duplicates, honouring a STOP the number sent before); `bulk` does
the same for many rows at once; `csv_import` reads a booking system's CSV into it;
`plan_actions` is what staff do to a plan later (pause, resume, cancel or reschedule a
step, resend, record consent or an opt-out).
"""
