"""JSON API under /api/v1: bearer-token authentication, JSON errors, an OpenAPI document."""
