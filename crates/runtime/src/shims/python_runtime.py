# stackgate's Python runtime shim: a pure-Python client of the Lambda Runtime API that loads and
# calls the handler the way awslambdaric does. Embedded in the stackgate binary.
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


class _Headers(dict):
    """Response headers, looked up without regard to case."""

    def get(self, key, default=None):
        return super().get(key.lower(), default)


class _Client:
    """The Runtime API client: one keep-alive connection, requests answered in order, framed by
    hand (Content-Length or chunked). http.client costs several times more per invocation."""

    def __init__(self):
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock, self.buf = None, b""

    def send(self, requests):
        """Sends requests ((method, path, body, headers) each) in one write."""
        if self.sock is None:
            self.sock = socket.create_connection((HOST, int(PORT)))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = bytearray()
        for method, path, body, headers in requests:
            msg += f"{method} {BASE}{path} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\n".encode("latin-1")
            for k, v in (headers or {}).items():
                v = str(v).replace("\r", " ").replace("\n", " ")
                msg += f"{k}: {v}\r\n".encode("utf-8")
            if body is None:
                msg += b"\r\n"
            else:
                msg += f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
                msg += body
        self.sock.sendall(msg)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def response(self):
        """The next response: (status, headers, body)."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            self._fill()
        head, self.buf = self.buf[:i].decode("latin-1"), self.buf[i + 4:]
        lines = head.split("\r\n")
        status = int(lines[0][9:12])
        headers = _Headers()
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._take(size))
                self._take(2)
            body = b"".join(parts)
        else:
            body = self._take(int(headers.get("content-length") or 0))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


CLIENT = _Client()


def request(method, path, body=None, headers=None):
    for attempt in (0, 1):
        try:
            CLIENT.send([(method, path, body, headers)])
            return CLIENT.response()
        except (OSError, ValueError, IndexError):
            CLIENT.close()
            if attempt:
                raise


def answer_and_next(answer):
    """Sends the invocation's answer and the next GET /next in one write, the answer marked so
    stackgate sends its 202 with the next event (one wake-up instead of two); the next event."""
    method, path, body, headers = answer
    marked = dict(headers or {}, **{"stackgate-next-follows": "1"})
    for attempt in (0, 1):
        try:
            CLIENT.send([(method, path, body, marked), ("GET", "/invocation/next", None, None)])
            CLIENT.response()
            return CLIENT.response()
        except (OSError, ValueError, IndexError):
            # Sent again on a new connection: an answer that had arrived is refused (403), harmless.
            CLIENT.close()
            if attempt:
                raise


def _answer(path, body, error_type=None, content_type="application/json"):
    """A POST request for the Runtime API: (method, path, body, headers)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {"Content-Type": content_type}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    return ("POST", path, body, headers)


def post(path, body, error_type=None):
    return request(*_answer(path, body, error_type))


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
        return _answer(f"/invocation/{request_id}/error", json.dumps(err), err["errorType"])
    except Exception as e:
        err = _error(e, request_id)
        _log_error(err)
        return _answer(f"/invocation/{request_id}/error", json.dumps(err), err["errorType"])
    return _answer(f"/invocation/{request_id}/response", payload, content_type=ctype)


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
    # The previous invocation's answer and the next GET /next are pipelined on the connection.
    answer = None
    while True:
        if answer is None:
            status, headers, body = request("GET", "/invocation/next")
        else:
            status, headers, body = answer_and_next(answer)
        if status != 200:
            sys.stdout.write(f"stackgate runtime: GET next answered {status}: {body!r}\n")
            sys.exit(1)
        answer = handle(fn, headers, body)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    main()
