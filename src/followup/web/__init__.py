"""The web app: staff dashboard, Twilio webhooks, signed patient links."""
