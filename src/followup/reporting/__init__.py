"""What a clinic reads back: outcome reports, their CSV and JSON forms, charts, and a
patient's timeline; and what operators read: the service's state (`operations`: workers,
queue, escalations past their SLA) and its Prometheus metrics (`metrics`). Read-only over
the models."""
