# A Starlette app for the interop tests: /login fills the session, /echo
# returns it as JSON. It prints its port, then serves until killed, with
# uvicorn or, without uvicorn, through Starlette's TestClient behind
# http.server.
import os
import socket

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def login(request):
    request.session.update({
        "user": "bob",
        "n": 7,
        "list": [1, "x", None, True],
        "text": "\u00fcn\u00ef <&> \U0001F600",
        "nested": {"a": {"b": 1.5}},
    })
    return PlainTextResponse("ok")


async def echo(request):
    return JSONResponse(dict(request.session))


app = Starlette(
    routes=[Route("/login", login), Route("/echo", echo)],
    middleware=[Middleware(SessionMiddleware, secret_key=os.environ["SECRET"])],
)

try:
    import uvicorn
except ImportError:
    uvicorn = None

if uvicorn is not None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
else:
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from starlette.testclient import TestClient

    client = TestClient(app)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            client.cookies.clear()
            headers = {"cookie": self.headers["Cookie"]} if self.headers["Cookie"] else {}
            resp = client.get(self.path, headers=headers)
            self.send_response(resp.status_code)
            for k, v in resp.headers.multi_items():
                if k.lower() in ("content-type", "set-cookie"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.content)))
            self.end_headers()
            self.wfile.write(resp.content)

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    print(srv.server_port, flush=True)
    srv.serve_forever()
