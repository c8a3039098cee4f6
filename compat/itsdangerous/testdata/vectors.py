# Prints, as JSON, tokens made by itsdangerous (and Flask's serializer,
# and Starlette's encoding) at the fixed time TS, for the Go tests to
# reproduce byte for byte.
import hashlib
import json
from base64 import b64encode

import itsdangerous
from flask import Flask
from flask.json.tag import TaggedJSONSerializer

TS = 1700000000
SECRET = "s3cr\u00e9t"


class Fixed(itsdangerous.TimestampSigner):
    def get_timestamp(self):
        return TS


out = {}
for kd in ("django-concat", "hmac", "concat", "none"):
    for name, dm in (("sha1", hashlib.sha1), ("sha256", hashlib.sha256)):
        s = itsdangerous.Signer(SECRET, salt="salty", key_derivation=kd, digest_method=dm)
        out[f"signer/{kd}/{name}"] = s.sign(b"hello world").decode()
        t = Fixed(SECRET, salt="salty", key_derivation=kd, digest_method=dm)
        out[f"timestamp/{kd}/{name}"] = t.sign(b"hello world").decode()

ser = itsdangerous.URLSafeTimedSerializer(SECRET, signer=Fixed)
out["serializer/small"] = ser.dumps({"a": [1, 2], "u": "\u00e9"})
out["serializer/big"] = ser.dumps({"pad": "z" * 300})

flask = itsdangerous.URLSafeTimedSerializer(
    SECRET, salt="cookie-session", serializer=TaggedJSONSerializer(), signer=Fixed,
    signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1})
with Flask("vectors").app_context():  # sort_keys and ensure_ascii, as in a request
    out["flask"] = flask.dumps({"user": "alice", "n": 42, "text": "h\u00e9 <&>", "raw": b"\x00\x01", "k": {" t": 1}})

st = Fixed(SECRET)
out["starlette"] = st.sign(b64encode(json.dumps({"n": [1, 2.5], "text": "\u00fc <&>", "user": "bob"}).encode())).decode()
print(json.dumps(out))
