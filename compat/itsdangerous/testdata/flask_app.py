# A Flask app for the interop tests: /login fills the session, /echo
# returns it as plain JSON. It prints its port, then serves until killed.
import datetime
import json
import logging
import os
import uuid

from flask import Flask, request, session
from markupsafe import Markup
from werkzeug.serving import make_server

logging.getLogger("werkzeug").setLevel(logging.ERROR)

app = Flask(__name__)
app.secret_key = os.environ["SECRET"]


def plain(v):
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, datetime.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, tuple):
        return {"tuple": [plain(x) for x in v]}
    if isinstance(v, uuid.UUID):
        return {"uuid": str(v)}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


@app.get("/login")
def login():
    session["user"] = "alice"
    session["n"] = 42
    session["big"] = 2**60
    session["tuple"] = (1, "two")
    session["raw"] = b"\x00\xffhi"
    session["when"] = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    session["id"] = uuid.UUID("12345678-1234-5678-1234-567812345678")
    session["tricky"] = {" t": "not a tuple"}
    session["markup"] = Markup("<b>x</b>")
    session["text"] = "h\u00e9llo <&> \u2028 \U0001F600"
    if request.args.get("pad"):
        session["pad"] = "x" * 2000
    return "ok"


@app.get("/echo")
def echo():
    return app.response_class(json.dumps(plain(dict(session))), mimetype="application/json")


srv = make_server("127.0.0.1", 0, app)
print(srv.port, flush=True)
srv.serve_forever()
