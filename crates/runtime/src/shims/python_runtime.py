# stackgate's Python runtime shim: a pure-Python client of the Lambda Runtime API that loads and
# calls the handler the way awslambdaric does. Embedded in the stackgate binary.
import http.client
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

ENV = os.environ
HOST, _, PORT = ENV.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001").rpartition(":")
BASE = "/2018-06-01/runtime"


class _Conn(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


CONN = _Conn(HOST, int(PORT))


def request(method, path, body=None, headers=None):
    for attempt in (0, 1):
        try:
            CONN.request(method, BASE + path, body=body, headers=headers or {})
            res = CONN.getresponse()
            return res.status, res.headers, res.read()
        except (http.client.HTTPException, OSError):
            CONN.close()
            if attempt:
                raise


def post(path, body, error_type=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    return request("POST", path, body, headers)


CURRENT_ID = None


class _LambdaLogHandler(logging.Handler):
    def emit(self, record):
        msg = self.format(record).replace("\n", "\r")
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        ms = int(record.msecs)
        sys.stdout.write(f"[{record.levelname}]\t{ts}.{ms:03d}Z\t{CURRENT_ID}\t{msg}\n")


def _stack(tb):
    return traceback.format_list(traceback.extract_tb(tb))


def _error(e, request_id=None, error_type=None, message=None):
    return {
        "errorMessage": message if message is not None else str(e),
        "errorType": error_type or type(e).__name__,
        "requestId": request_id or "",
        "stackTrace": _stack(e.__traceback__) if e is not None else [],
    }


def _log_error(err):
    lines = [f"[ERROR] {err['errorType']}: {err['errorMessage']}"]
    if err["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in err["stackTrace"])
    sys.stdout.write("\r".join(lines).replace("\n", "\r") + "\n")


class _InitError(Exception):
    def __init__(self, error_type, message, cause=None):
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}", e)
    modname = modname.replace("/", ".")
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _InitError(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {modname} as a handler module",
            )
        module = importlib.import_module(modname)
    except _InitError:
        raise
    except ImportError as e:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}", e)
    except SyntaxError as e:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", e)
    except Exception as e:
        raise _InitError(type(e).__name__, str(e), e)
    fn = getattr(module, fname, None)
    if fn is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'")
    return fn


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self._deadline = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = ENV.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = ENV.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = ENV.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = ENV.get("AWS_LAMBDA_LOG_STREAM_NAME")
        cc = headers.get("Lambda-Runtime-Client-Context")
        self.client_context = _ClientContext(json.loads(cc)) if cc else None
        ci = headers.get("Lambda-Runtime-Cognito-Identity")
        self.identity = _Identity(json.loads(ci) if ci else {})
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id")

    def get_remaining_time_in_millis(self):
        return max(self._deadline - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))


class _ClientContext:
    def __init__(self, d):
        self.client = d.get("client")
        self.custom = d.get("custom")
        self.env = d.get("env")


class _Identity:
    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")


def handle(fn, headers, body):
    global CURRENT_ID
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    CURRENT_ID = request_id
    trace = headers.get("Lambda-Runtime-Trace-Id")
    if trace:
        ENV["_X_AMZN_TRACE_ID"] = trace
    else:
        ENV.pop("_X_AMZN_TRACE_ID", None)
    try:
        try:
            event = json.loads(body) if body else None
        except Exception as e:
            raise _InitError("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}", e)
        result = fn(event, Context(headers))
        if isinstance(result, (bytes, bytearray)):
            payload, ctype = bytes(result), "application/unknown"
        else:
            try:
                payload, ctype = json.dumps(result), "application/json"
            except Exception as e:
                raise _InitError("Runtime.MarshalError", f"Unable to marshal response: {e}", e)
    except _InitError as e:
        err = _error(e, request_id, e.error_type, str(e))
        _log_error(err)
        post(f"/invocation/{request_id}/error", json.dumps(err), err["errorType"])
        return
    except Exception as e:
        err = _error(e, request_id)
        _log_error(err)
        post(f"/invocation/{request_id}/error", json.dumps(err), err["errorType"])
        return
    request("POST", f"/invocation/{request_id}/response", payload.encode("utf-8") if isinstance(payload, str) else payload,
            {"Content-Type": ctype})


def main():
    root = ENV.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path.insert(0, root)
    logging.getLogger().addHandler(_LambdaLogHandler())
    try:
        fn = load_handler(ENV.get("_HANDLER", ""))
    except _InitError as e:
        err = _error(e.cause, "", e.error_type, str(e))
        if e.cause is None:
            err["stackTrace"] = []
        _log_error(err)
        post("/init/error", json.dumps(err), err["errorType"])
        sys.exit(1)
    while True:
        status, headers, body = request("GET", "/invocation/next")
        if status != 200:
            sys.stdout.write(f"stackgate runtime: GET next answered {status}: {body!r}\n")
            sys.exit(1)
        handle(fn, headers, body)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    main()
