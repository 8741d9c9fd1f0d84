"""WSGI app for the uWSGI peer: answers with its environ and a body summary as JSON.

Keys and values are the latin-1 strings PEP 3333 gives the app, so the JSON
carries the original bytes losslessly (encode each string as latin-1).
"""
import hashlib
import json


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    env = {k: v for k, v in environ.items() if isinstance(v, str)}
    out = json.dumps(
        {"environ": env, "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()},
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Echo", "1")])
    return [out]
