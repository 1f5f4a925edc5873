"""A reply that needs a person, from the moment it is opened until someone resolves it.

`lifecycle` opens, acknowledges, assigns, notes, answers and resolves escalations;
`alerts` tells on-call staff (through the outbox) and re-alerts when nobody acknowledges
within the clinic's SLA (the worker's sweep); `worklists` are the queues the dashboard
shows.
"""
