"""Serves one MLflow model for Lakeline's local workspace: a model deployment's replica.

    serve_model.py --check MODEL_DIR           load the model once and exit (a model build)
    serve_model.py --serve MODEL_DIR           serve it on a free loopback port

When serving, the first line on stdout is `LISTENING <port>`. Every request must carry `Authorization: Bearer <token>` with the token the workspace put in
`LAKELINE_REPLICA_TOKEN`: the port is on loopback, and only the workspace may reach the model
through it (callers go through the workspace's `POST /model`, which checks their access key).
`POST /` takes the body of CML's
model protocol's `request` member — `{"dataframe_split": …}`, `{"dataframe_records": […]}`, one
record as an object or a list of records — and answers `{"predictions": […]}`. `GET /` answers
200 once the model is loaded.
"""

import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def load(model_dir):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(model_dir)


def to_frame(request):
    import pandas as pd

    if isinstance(request, dict) and "dataframe_split" in request:
        split = request["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns"))
    if isinstance(request, dict) and "dataframe_records" in request:
        return pd.DataFrame.from_records(request["dataframe_records"])
    if isinstance(request, dict) and "instances" in request:
        return pd.DataFrame.from_records(request["instances"])
    if isinstance(request, dict):
        return pd.DataFrame.from_records([request])
    if isinstance(request, list):
        return pd.DataFrame.from_records(request)
    raise ValueError("the request must be an object of features, a list of them, or dataframe_split / dataframe_records")


def predictions(model, request):
    frame = to_frame(request)
    schema = model.metadata.get_input_schema()
    if schema is not None:
        # Cast to the signature's types (JSON numbers arrive as floats or ints).
        for column in schema.inputs:
            if column.name in frame.columns:
                frame[column.name] = frame[column.name].astype(column.type.to_pandas())
    result = model.predict(frame)
    return result.tolist() if hasattr(result, "tolist") else list(result)


def serve(model_dir):
    model = load(model_dir)

    token = os.environ.get("LAKELINE_REPLICA_TOKEN", "")
    if not token:
        sys.exit("LAKELINE_REPLICA_TOKEN is not set: a replica answers only the workspace that started it")
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        def _allowed(self):
            given = self.headers.get("Authorization", "").encode()
            if hmac.compare_digest(given, expected):
                return True
            self._answer(401, {"error": "this replica answers only its workspace"})
            return False

        def _answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self._allowed():
                self._answer(200, {"ready": True})

        def do_POST(self):
            if not self._allowed():
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                request = json.loads(self.rfile.read(length) or b"null")
                self._answer(200, {"predictions": predictions(model, request)})
            except Exception as e:  # the caller gets the reason, the replica keeps serving
                self._answer(400, {"error": f"{type(e).__name__}: {e}"})

        def log_message(self, fmt, *args):
            sys.stderr.write("%s\n" % (fmt % args))

    server = HTTPServer(("127.0.0.1", 0), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("--check", "--serve"):
        sys.exit(__doc__)
    if sys.argv[1] == "--check":
        model = load(sys.argv[2])
        print("model loaded:", model.metadata.flavors.keys())
    else:
        serve(sys.argv[2])
