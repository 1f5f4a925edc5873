"""One router per area; the app factory includes them."""
