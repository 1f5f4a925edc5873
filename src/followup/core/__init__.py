"""What every part of followup stands on, and nothing about clinics or patients.

Configuration (one Settings object from FOLLOWUP_* variables), the database engine and
sessions, the injectable clock, logging with phone numbers redacted, E.164 phone numbers,
argon2 passwords, signed patient links, the audit trail, the Runtime a process is built
from, and the prepared statements the hot paths run. Imports nothing else of followup
but the models (the audit trail writes a row; `periodic` takes a once-a-day job's day).
`metrics` holds the process-local Prometheus instruments.
"""
