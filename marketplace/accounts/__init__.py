"""Users, sign-up, log-in, password reset, profile."""
