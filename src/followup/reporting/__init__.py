"""What a clinic reads back: outcome reports, their CSV and JSON forms, charts, and a
patient's timeline. Read-only over the models."""
