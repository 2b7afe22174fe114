"""Symbiose: an inter-company resource marketplace for industrial symbiosis programmes."""
from __future__ import annotations

from flask import Flask, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.exceptions import BadRequest, HTTPException

from marketplace.config import load_config
from marketplace.extensions import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    mail,
    migrate,
)


def select_locale():
    """Explicit choice (session, then profile), then the browser's preference, French by default."""
    from flask import current_app, has_request_context

    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.update(settings)
    from marketplace.search.backends import check_config as check_search_config

    check_search_config(app.config)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str((app.root_path + "/../migrations")))
    login_manager.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    from marketplace import lazy_text

    lazy_text.install()  # lazy strings are text: what someone typed, interpolated, is escaped in pages
    limiter.init_app(app)

    from marketplace.jobs import configure as configure_jobs

    configure_jobs(app.config)

    _sqlite_pragmas(app)
    _postgresql_lock_timeout(app)
    _register_models()
    _bound_url_integers(app)
    _register_blueprints(app)
    _register_error_pages(app)
    _register_request_guards(app)
    _register_template_helpers(app)

    from marketplace.cli import register_cli

    register_cli(app)
    return app


def _register_models():
    # Import every model module so that metadata (and Alembic autogenerate) sees all tables.
    import marketplace.accounts.models  # noqa: F401
    import marketplace.api.models  # noqa: F401
    import marketplace.auctions.models  # noqa: F401
    import marketplace.conversations.models  # noqa: F401
    import marketplace.jobs  # noqa: F401 - UnfinishedJob
    import marketplace.listings.models  # noqa: F401
    import marketplace.matching.models  # noqa: F401
    import marketplace.notifications.models  # noqa: F401
    import marketplace.search.models  # noqa: F401
    import marketplace.synergies.models  # noqa: F401
    import marketplace.vocabulary.models  # noqa: F401
    import marketplace.workshops.models  # noqa: F401


def _sqlite_pragmas(app: Flask):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # The driver keeps opening transactions at the first write only, so a request that reads
            # never holds a stale snapshot (which would make its later write fail at once with
            # "database is locked"); SAVEPOINTs go through models_base.savepoint() for that reason.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_busy_timeout_ms(app)}")
            cursor.close()


def _busy_timeout_ms(app: Flask) -> int:
    """DATABASE_BUSY_TIMEOUT in milliseconds, read as each connection opens."""
    return max(int(float(app.config["DATABASE_BUSY_TIMEOUT"]) * 1000), 0)


def _postgresql_lock_timeout(app: Flask):
    """On PostgreSQL, a statement waiting for a lock gives up after DATABASE_BUSY_TIMEOUT (lock_timeout)
    instead of waiting for ever: the request answers 503 (marketplace/busy.py), a job is retried."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        return
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True  # a SET inside the first transaction would be rolled back
            try:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET lock_timeout = {_busy_timeout_ms(app)}")
            finally:
                dbapi_connection.autocommit = autocommit


MAX_URL_INTEGER = 2**31 - 1  # the largest id PostgreSQL's integer columns hold


def digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to `limit` (leading zeros allowed)."""
    digits = str(limit)
    parts = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for position, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - position - 1
            parts.append(digits[:position] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "|".join([*parts, digits])


def _bound_url_integers(app: Flask):
    """`<int:…>` in every URL stops at the largest id a database holds: a larger number matches no
    route (404, whatever the method), where PostgreSQL would refuse it (integer out of range) and
    SQLite overflow past 64 bits (a 500). In the pattern rather than as a maximum: a value refused
    after matching makes werkzeug answer 405 with the methods of the other routes of the same path."""
    from werkzeug.routing import IntegerConverter

    class BoundedIntegerConverter(IntegerConverter):
        regex = f"(?:{digits_at_most(MAX_URL_INTEGER)})"

    app.url_map.converters["int"] = BoundedIntegerConverter


def _register_blueprints(app: Flask):
    from marketplace.accounts.views import bp as accounts_bp
    from marketplace.api.views import bp as api_bp
    from marketplace.auctions.views import bp as auctions_bp
    from marketplace.companies.views import bp as companies_bp
    from marketplace.imports.views import bp as imports_bp
    from marketplace.conversations.views import bp as conversations_bp
    from marketplace.listings.views import bp as listings_bp
    from marketplace.practitioner.views import bp as practitioner_bp
    from marketplace.reports.views import bp as reports_bp
    from marketplace.search.views import bp as search_bp
    from marketplace.synergies.views import bp as synergies_bp
    from marketplace.main.views import bp as main_bp
    from marketplace.notifications.views import bp as notifications_bp
    from marketplace.territories.views import bp as territories_bp
    from marketplace.vocabulary.views import bp as vocabulary_bp
    from marketplace.workshops.views import bp as workshops_bp

    for bp in (api_bp, main_bp, accounts_bp, companies_bp, territories_bp, listings_bp, conversations_bp, vocabulary_bp, imports_bp, notifications_bp, search_bp, auctions_bp, synergies_bp, practitioner_bp,
               reports_bp, workshops_bp):
        app.register_blueprint(bp)

    from marketplace.accounts.models import User

    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"

    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Connectez-vous pour accéder à cette page.")

    @login_manager.user_loader
    def load_user(session_id: str):
        return User.for_session(session_id)


def _register_error_pages(app: Flask):
    def render_error(error: HTTPException):
        code = error.code or 500
        template = f"errors/{code}.html" if code in (400, 403, 404, 405, 413, 429) else "errors/generic.html"
        if request.path.startswith("/api/"):
            from marketplace.api.errors import error_response

            return error_response(code, (error.name or "error").lower().replace(" ", "_"), error.description or "")
        return render_template(template, error=error, code=code), code

    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(Exception)
    def internal_error(error):
        if isinstance(error, HTTPException):
            return render_error(error)
        app.logger.exception("unhandled error on %s", request.path)
        db.session.rollback()
        return render_template("errors/500.html", code=500), 500

    import sqlalchemy as sa

    from marketplace import busy

    @app.errorhandler(sa.exc.DBAPIError)
    def database_error(error):
        """A lock held too long by another connection: 503 "try again", with the form to send again."""
        if busy.is_database_busy(error):
            return busy.response(error)
        return internal_error(error)


def _register_request_guards(app: Flask):
    from marketplace import security

    security.register(app)

    @app.before_request
    def _refuse_nul_characters():
        """A NUL character is never meaningful in a form or a query, and PostgreSQL cannot store it
        in text: refuse the request (400) before any view sees it, whatever the database."""
        if any("\x00" in value for source in (request.args, request.form) for value in source.values()):
            raise NulCharacterRefused()


class NulCharacterRefused(BadRequest):
    """A NUL character (U+0000) in a form or a query. The 400 page (and the API's error) says so, rather
    than the generic "the form may have expired", so that the person knows what to remove."""

    @property
    def description(self) -> str:  # translated when shown, in the reader's language
        from flask_babel import gettext

        return gettext("Le texte envoyé contient un caractère nul (U+0000), invisible, que le site ne peut pas "
                       "enregistrer : rien n'a été enregistré. Revenez en arrière, retirez ce caractère (il vient "
                       "souvent d'un copier-coller depuis un PDF ou un tableur) et renvoyez le formulaire.")

    @property
    def user_message(self) -> str:
        return self.description


def _register_template_helpers(app: Flask):
    from marketplace import labels

    app.jinja_env.globals["labels"] = labels
    from marketplace.matching.explain import reasons_text

    app.jinja_env.globals["match_reasons"] = reasons_text

    @app.context_processor
    def inject():
        return {"current_locale": str(get_locale()), "site_name": app.config["SITE_NAME"]}

    app.jinja_env.filters["eur"] = labels.format_eur
    app.jinja_env.filters["qty"] = labels.format_quantity
    app.jinja_env.filters["date_fr"] = labels.format_date
    app.jinja_env.filters["datetime_fr"] = labels.format_datetime
