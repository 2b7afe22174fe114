"""The framework ceiling: a minimal Flask page served by the same gunicorn settings as the site
(`gunicorn -w N hello:app`, run from bench/). Whatever a page of the site costs beyond this is the
application's own work."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Bonjour"
