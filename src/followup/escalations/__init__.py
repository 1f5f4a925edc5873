"""A reply that needs a person, from the moment it is opened until someone resolves it.

`lifecycle` opens, acknowledges, assigns, notes, answers, resolves and reopens
escalations; `staff_texts` is the one way staff text a patient (from an escalation or the
patient page); `alerts` tells on-call staff (through the outbox) and re-alerts when nobody
acknowledges within the clinic's SLA (the worker's sweep); `worklists` are the queues the
dashboard shows, with how long each escalation took to acknowledge and resolve.
"""
