// stackgate's Node.js runtime shim: a pure-JS client of the Lambda Runtime API that loads and
// calls the handler the way the AWS Node RIC (v3) does. Embedded in the stackgate binary.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const env = process.env;
const [HOST, PORT] = (env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const BASE = '/2018-06-01/runtime';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
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

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: PORT, method, path: BASE + p, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (p, body, headers = {}) =>
  request('POST', p, body, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });

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

async function postError(id, err) {
  const json = errorJson(err);
  logError(id, 'Invoke Error', json);
  await post(`/invocation/${id}/error`, JSON.stringify(json), { 'lambda-runtime-function-error-type': json.errorType });
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

function invoke(handler, res) {
  return new Promise((resolve) => {
    const h = res.headers;
    const id = h['lambda-runtime-aws-request-id'];
    const deadline = Number(h['lambda-runtime-deadline-ms']);
    if (h['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;
    currentId = id;
    let finished = false;
    let pending; // callback result waiting for an empty event loop
    let isPromise = false;
    const finish = (err, result) => {
      if (finished) return;
      finished = true;
      process.removeListener('beforeExit', onDrain);
      current = undefined;
      let send;
      if (err != null) send = postError(id, err);
      else {
        let body;
        try { body = JSON.stringify(result === undefined ? null : result); } catch (e) {
          send = postError(id, new UserError('Runtime.MalformedResponse', `Unable to stringify response body: ${e.message}`));
        }
        if (!send) send = post(`/invocation/${id}/response`, body === undefined ? 'null' : body);
      }
      send.then(resolve, resolve);
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
  for (;;) {
    const res = await request('GET', '/invocation/next');
    if (res.status !== 200) {
      write(`stackgate runtime: GET next answered ${res.status}: ${res.body}\n`);
      process.exit(1);
    }
    await invoke(handler, res);
  }
}
main();
