// stackgate's Node.js runtime shim: a pure-JS client of the Lambda Runtime API that loads and
// calls the handler the way the AWS Node RIC (v3) does. Embedded in the stackgate binary.
'use strict';
const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const env = process.env;
const [HOST, PORT] = (env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const BASE = '/2018-06-01/runtime';
const write = (s) => fs.writeSync(1, s);

let currentId;
const fmt = (level) => (...args) =>
  write(`${new Date().toISOString()}\t${currentId}\t${level}\t${util.format(...args).replace(/\n/g, '\r')}\n`);
console.log = console.info = fmt('INFO');
console.warn = fmt('WARN');
console.error = fmt('ERROR');
console.debug = fmt('DEBUG');
console.trace = fmt('TRACE');
console.fatal = fmt('FATAL');

// The Runtime API client: one keep-alive connection with requests answered in order, framed by
// hand (Content-Length or chunked). Node's `http` module costs several times more per invocation.
// The socket is unref'd while no request is pending, as the `http` Agent does with free sockets,
// so `beforeExit` still tells when the handler's own work is done.
const CRLFCRLF = Buffer.from('\r\n\r\n');
const HOST_HEADER = `host: ${HOST}:${PORT}\r\n`;
let sock = null;
let waiting = []; // { resolve, reject } per request sent, in order
let pending = null; // bytes received and not yet parsed
let head = null; // the response whose body is being read

function drop(err) {
  const w = waiting;
  waiting = [];
  pending = null;
  head = null;
  if (sock) { sock.destroy(); sock = null; }
  for (const r of w) r.reject(err);
}

function connect() {
  const s = net.connect({ host: HOST, port: Number(PORT), noDelay: true });
  s.on('data', onData);
  s.on('error', (e) => { if (sock === s) drop(e); });
  s.on('close', () => { if (sock === s) drop(new Error('the Runtime API closed the connection')); });
  sock = s;
}

function parseHead(text) {
  const lines = text.split('\r\n');
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const te = headers['transfer-encoding'];
  return {
    status: parseInt(lines[0].slice(9, 12), 10),
    headers,
    length: te && te.toLowerCase().includes('chunked') ? -1 : parseInt(headers['content-length'] || '0', 10) || 0,
    close: (headers.connection || '').toLowerCase() === 'close',
    chunks: [],
  };
}

// One chunked body from `buf`: [body, bytes used] or null when incomplete.
function dechunk(buf) {
  const parts = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (!(size >= 0)) throw new Error('bad chunk size from the Runtime API');
    if (size === 0) {
      const end = buf.indexOf(CRLFCRLF, eol);
      if (end < 0) return null;
      return [Buffer.concat(parts), end + 4];
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function onData(chunk) {
  let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
  pending = null;
  try {
    for (;;) {
      if (head === null) {
        const end = buf.indexOf(CRLFCRLF);
        if (end < 0) break;
        head = parseHead(buf.toString('latin1', 0, end));
        buf = buf.subarray(end + 4);
      }
      let body;
      if (head.length >= 0) {
        if (buf.length < head.length) break;
        body = buf.subarray(0, head.length);
        buf = buf.subarray(head.length);
      } else {
        const got = dechunk(buf);
        if (got === null) break;
        body = got[0];
        buf = buf.subarray(got[1]);
      }
      const res = { status: head.status, headers: head.headers, body };
      const close = head.close;
      head = null;
      const w = waiting.shift();
      if (waiting.length === 0 && sock) sock.unref();
      if (close && sock) { sock.destroy(); sock = null; }
      if (w) w.resolve(res);
      if (sock === null) return;
    }
  } catch (e) {
    drop(e);
    return;
  }
  if (buf.length) pending = buf;
}

// Sends requests ([method, path, body, headers]) in one write; a promise per response.
function send(reqs) {
  if (sock === null) connect();
  let msg = '';
  const answers = reqs.map(([method, p, body, headers]) => {
    msg += `${method} ${BASE}${p} HTTP/1.1\r\n${HOST_HEADER}`;
    if (headers) for (const k in headers) msg += `${k}: ${String(headers[k]).replace(/[\r\n]/g, ' ')}\r\n`;
    msg += body === undefined ? '\r\n' : `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  });
  sock.ref();
  sock.write(msg);
  return answers;
}

const request = (method, p, body, headers) => send([[method, p, body, headers]])[0];

const JSON_TYPE = { 'content-type': 'application/json' };
const postRequest = (p, body, headers) =>
  ['POST', p, body, headers ? { 'content-type': 'application/json', ...headers } : JSON_TYPE];
const post = (p, body, headers) => request(...postRequest(p, body, headers));

function errorJson(err) {
  if (err instanceof Error) {
    return { errorType: err.name || 'Error', errorMessage: err.message, trace: String(err.stack || '').split('\n') };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

class UserError extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause && cause.stack) this.stack = `${name}: ${message}\n${cause.stack}`;
  }
}

function isEsmPackage(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    if (path.basename(d) === 'node_modules') return false;
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module'; } catch { return false; }
    }
    if (path.dirname(d) === d) return false;
  }
}

const isFile = (f) => { try { return fs.statSync(f).isFile(); } catch { return false; } };

async function loadModule(root, moduleName) {
  const base = path.resolve(root, moduleName);
  if (isFile(base)) return require(base);
  if (isFile(base + '.js')) {
    return isEsmPackage(path.dirname(base)) ? import(pathToFileURL(base + '.js').href) : require(base + '.js');
  }
  if (isFile(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  return require(require.resolve(moduleName, { paths: [root, path.dirname(base)] }));
}

async function loadHandler(root, handler) {
  if (handler.includes('..')) throw new UserError('Runtime.MalformedHandlerName', "'" + handler + "' is not a valid handler name. Use absolute paths when specifying root directories in handler names.");
  const slash = handler.lastIndexOf('/');
  const file = handler.slice(slash + 1);
  const dot = file.indexOf('.');
  if (dot < 1) throw new UserError('Runtime.MalformedHandlerName', 'Bad handler');
  const moduleName = handler.slice(0, slash + 1) + file.slice(0, dot);
  let mod;
  try {
    mod = await loadModule(root, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, e);
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${moduleName}'`)) {
      throw new UserError('Runtime.ImportModuleError', `Error: ${e.message}`, e);
    }
    if (e && e.code === 'MODULE_NOT_FOUND') throw new UserError('Runtime.ImportModuleError', `Error: ${e.message}`, e);
    throw e;
  }
  let fn = mod;
  for (const part of file.slice(dot + 1).split('.')) fn = fn == null ? undefined : fn[part];
  if (fn === undefined) throw new UserError('Runtime.HandlerNotFound', `${handler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new UserError('Runtime.HandlerNotFound', `${handler} is not a function`);
  return fn;
}

function logError(id, label, json) {
  write(`${new Date().toISOString()}\t${id}\tERROR\t${label} \t${JSON.stringify(json)}\n`);
}

let current; // { id, done(err, result) } of the invocation in progress

// Logs the error; the request that reports it.
function errorRequest(id, err) {
  const json = errorJson(err);
  logError(id, 'Invoke Error', json);
  return postRequest(`/invocation/${id}/error`, JSON.stringify(json), { 'lambda-runtime-function-error-type': json.errorType });
}

function fatal(label, code) {
  return async (err) => {
    const json = errorJson(err);
    if (current) {
      logError(current.id, label, json);
      const id = current.id;
      current = undefined;
      try {
        await post(`/invocation/${id}/error`, JSON.stringify(json), { 'lambda-runtime-function-error-type': json.errorType });
      } catch {}
    } else {
      logError(undefined, label, json);
    }
    process.exit(code);
  };
}
process.on('uncaughtException', fatal('Uncaught Exception', 129));
process.on('unhandledRejection', (reason) => fatal('Unhandled Promise Rejection', 128)(
  reason instanceof Error ? Object.assign(reason, { name: 'Runtime.UnhandledPromiseRejection' }) : reason));

let traceSet = '_X_AMZN_TRACE_ID' in env;
function invoke(handler, res) {
  return new Promise((resolve) => {
    const h = res.headers;
    const id = h['lambda-runtime-aws-request-id'];
    const deadline = Number(h['lambda-runtime-deadline-ms']);
    if (h['lambda-runtime-trace-id']) {
      env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
      traceSet = true;
    } else if (traceSet) {
      delete env._X_AMZN_TRACE_ID;
      traceSet = false;
    }
    currentId = id;
    let finished = false;
    let pending; // callback result waiting for an empty event loop
    let isPromise = false;
    const finish = (err, result) => {
      if (finished) return;
      finished = true;
      process.removeListener('beforeExit', onDrain);
      current = undefined;
      // The answer goes out with the next `GET /next`, in one write (see main).
      if (err != null) return resolve(errorRequest(id, err));
      let body;
      try { body = JSON.stringify(result === undefined ? null : result); } catch (e) {
        return resolve(errorRequest(id, new UserError('Runtime.MalformedResponse', `Unable to stringify response body: ${e.message}`)));
      }
      resolve(postRequest(`/invocation/${id}/response`, body === undefined ? 'null' : body));
    };
    const onDrain = () => {
      if (pending) finish(...pending);
      else if (isPromise) finish(new UserError('Runtime.NodeJsExit', 'RequestId: ' + id + ' Error: Runtime exited without providing a reason'));
      else finish(null, null);
    };
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: id,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: h['lambda-runtime-cognito-identity'] ? JSON.parse(h['lambda-runtime-cognito-identity']) : undefined,
      clientContext: h['lambda-runtime-client-context'] ? JSON.parse(h['lambda-runtime-client-context']) : undefined,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      succeed: (r) => finish(null, r),
      fail: (e) => finish(e == null ? new Error('handled') : e),
      done: (e, r) => finish(e, r),
    };
    const callback = (err, result) => {
      if (context.callbackWaitsForEmptyEventLoop) pending = [err, result];
      else finish(err, result);
    };
    current = { id };
    process.on('beforeExit', onDrain);
    let event;
    try {
      event = JSON.parse(res.body.toString('utf8'));
    } catch (e) {
      finish(new UserError('Runtime.UnmarshalError', `Unable to parse event: ${e.message}`));
      return;
    }
    try {
      const r = handler(event, context, callback);
      if (r && typeof r.then === 'function') {
        isPromise = true;
        r.then((v) => finish(null, v), (e) => finish(e == null ? new Error('null') : e));
      }
    } catch (e) {
      finish(e);
    }
  });
}

async function main() {
  let handler;
  try {
    handler = await loadHandler(env.LAMBDA_TASK_ROOT || process.cwd(), env._HANDLER || '');
  } catch (e) {
    const json = errorJson(e);
    logError(undefined, 'Uncaught Exception', json);
    try {
      await post('/init/error', JSON.stringify(json), { 'lambda-runtime-function-error-type': json.errorType });
    } catch {}
    process.exit(1);
  }
  // The previous invocation's answer and the next `GET /next` are pipelined on the connection.
  let answer = null;
  for (;;) {
    let res;
    if (answer === null) res = await request('GET', '/invocation/next');
    else {
      // Marked so stackgate sends the answer's 202 with the next event, one wake-up instead of two.
      answer[3] = { ...answer[3], 'stackgate-next-follows': '1' };
      const [posted, next] = send([answer, ['GET', '/invocation/next']]);
      posted.catch(() => {});
      res = await next;
    }
    if (res.status !== 200) {
      write(`stackgate runtime: GET next answered ${res.status}: ${res.body}\n`);
      process.exit(1);
    }
    answer = await invoke(handler, res);
  }
}
main();
