"""What we say and when: pure functions over the templates in templates/messages/.

`plans` turns a treatment time and a clinic's rules into send times (quiet hours, DST,
late enrollment); `rendering` renders a step's SMS and email in a Jinja2 sandbox;
`segments` counts SMS segments the way carriers do; `automatic` renders the words we
send on our own (answers to replies, alerts to staff). No database, network or clock:
callers pass `now` and data in, and get data back.
"""
