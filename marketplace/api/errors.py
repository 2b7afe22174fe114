"""API errors as JSON: {"error": {"code", "message", "fields"}} with the right HTTP status."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    return response


def register(bp):
    @bp.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.fields)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, (error.name or "error").lower().replace(" ", "_"),
                              error.description or "")
