"""Running a clinic's account: clinics and their staff, clinic settings, API tokens for
booking systems, and data retention."""
