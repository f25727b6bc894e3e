// The parts of `wx` the components use, backed by real ones: wx.request
// over Node's fetch (real HTTP to trtcd), wx.connectSocket over the `ws`
// package (a real WebSocket), and the live-pusher / live-player contexts,
// which reach the stand-in components (stand-ins.js).
const WebSocket = require('ws');

// request: WeChat sends `data` as JSON for POST and parses a JSON answer
// (dataType 'json', the default).
function request(options) {
  const method = (options.method || 'GET').toUpperCase();
  const headers = Object.assign({ 'content-type': 'application/json' }, options.header || {});
  let url = options.url;
  let body;
  if (method === 'GET' && options.data && typeof options.data === 'object') {
    const q = new URLSearchParams(options.data).toString();
    if (q) url += (url.includes('?') ? '&' : '?') + q;
  } else if (options.data !== undefined) {
    body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeout || 60000);
  fetch(url, { method, headers, body, signal: controller.signal })
    .then(async (resp) => {
      const text = await resp.text();
      let data = text;
      if ((options.dataType || 'json') === 'json') {
        try { data = JSON.parse(text); } catch (e) { /* WeChat hands back the text */ }
      }
      const header = {};
      resp.headers.forEach((v, k) => { header[k] = v; });
      const res = { data, statusCode: resp.status, header, errMsg: 'request:ok' };
      if (options.success) options.success(res);
      if (options.complete) options.complete(res);
    })
    .catch((err) => {
      const res = { errMsg: 'request:fail ' + err.message };
      if (options.fail) options.fail(res);
      if (options.complete) options.complete(res);
    })
    .finally(() => clearTimeout(timer));
  return { abort: () => controller.abort() };
}

// SocketTask is WeChat's socket: callbacks registered with on*, frames
// sent with send({data}).
class SocketTask {
  constructor(options) {
    this.handlers = { open: [], close: [], error: [], message: [] };
    this.ws = new WebSocket(options.url, options.protocols || [], { headers: options.header || {} });
    this.ws.on('open', () => {
      if (options.success) options.success({ errMsg: 'connectSocket:ok' });
      this.emit('open', { header: {} });
    });
    this.ws.on('message', (data, isBinary) => this.emit('message', { data: isBinary ? data : data.toString() }));
    this.ws.on('error', (err) => this.emit('error', { errMsg: err.message }));
    this.ws.on('close', (code, reason) => this.emit('close', { code, reason: reason.toString() }));
  }

  emit(kind, arg) {
    this.handlers[kind].forEach((h) => h(arg));
  }

  onOpen(h) { this.handlers.open.push(h); }
  onClose(h) { this.handlers.close.push(h); }
  onError(h) { this.handlers.error.push(h); }
  onMessage(h) { this.handlers.message.push(h); }

  send({ data, success, fail, complete }) {
    if (this.ws.readyState !== WebSocket.OPEN) {
      const res = { errMsg: 'sendSocketMessage:fail socket is not open' };
      if (fail) fail(res);
      if (complete) complete(res);
      return;
    }
    this.ws.send(data, (err) => {
      const res = { errMsg: err ? 'sendSocketMessage:fail ' + err.message : 'sendSocketMessage:ok' };
      if (err && fail) fail(res);
      if (!err && success) success(res);
      if (complete) complete(res);
    });
  }

  // drop is the test's: the connection breaks as on a phone changing
  // networks (no close handshake).
  drop() {
    this.ws.terminate();
  }

  close({ code, reason, success } = {}) {
    this.ws.close(code || 1000, reason || '');
    if (success) success({ errMsg: 'closeSocket:ok' });
  }
}

function connectSocket(options) {
  return new SocketTask(options);
}

// contextOf finds a stand-in tag by id in the component that asks, as
// wx.createLivePusherContext(id, this) does inside a custom component.
function contextOf(kind, id, component) {
  const found = component && component.selectComponent ? component.selectComponent('#' + id) : null;
  const call = (name) => (arg) => {
    if (found && found[name]) found[name](arg);
    if (arg && arg.success) arg.success({ errMsg: kind + '.' + name + ':ok' });
  };
  const methods = ['start', 'stop', 'pause', 'resume', 'switchCamera', 'play', 'mute', 'snapshot'];
  const ctx = {};
  methods.forEach((m) => { ctx[m] = call(m); });
  return ctx;
}

function install(wx) {
  Object.assign(wx, {
    request,
    connectSocket,
    createLivePusherContext: (id, component) => contextOf('livePusherContext', id, component),
    createLivePlayerContext: (id, component) => contextOf('livePlayerContext', id, component)
  });
}

module.exports = { install };
