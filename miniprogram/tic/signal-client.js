// The mini program's transport for the TIC core: trtcd's /ws protocol
// (docs/protocol.md) over wx.connectSocket. It is the signalling half of
// the browser's /sdk/trtcd.js client, with the same methods and events the
// core uses; a mini program's camera and players are <live-pusher> and
// <live-player>, which the webrtc-room component drives over RTMP, so there
// is no media here.

/** An error from the server or the SDK, with a TRTC code (docs/errors.md). */
class TrtcdError extends Error {
  constructor(code, message) {
    super(code + ': ' + message);
    this.name = 'TrtcdError';
    this.code = code;
    this.reason = message;
  }
}

// SDK-side codes, the same numbers /sdk/trtcd.js uses, for failures that
// never reach the server.
const ErrorCode = Object.freeze({
  INVALID_PARAMETER: 4096,
  INVALID_OPERATION: 4097,
  SIGNAL_CHANNEL_SETUP_FAILED: 16385,
  SIGNAL_CHANNEL_ERROR: 16386,
  SERVER_TIMEOUT: 16449,
});

// In a class the member's heartbeat (the server removes a member after 30 s
// of silence).
const HEARTBEAT_MS = 5000;
const REQUEST_TIMEOUT_MS = 15000;

// socketUrl turns the trtcd host of config.js (https://HOST) into its /ws
// endpoint; a ws:// or wss:// URL is taken as it is.
function socketUrl(hostOrUrl) {
  const s = String(hostOrUrl || '');
  if (/^wss?:\/\//.test(s)) return s;
  return s.replace(/^http/, 'ws').replace(/\/+$/, '') + '/ws';
}

class SignalClient {
  constructor(options) {
    const o = options || {};
    if (!o.sdkAppId || !o.userId || !o.userSig) {
      throw new TrtcdError(ErrorCode.INVALID_PARAMETER, 'sdkAppId, userId and userSig are required');
    }
    if (!o.url) throw new TrtcdError(ErrorCode.INVALID_PARAMETER, 'url: the trtcd host (https://HOST) or its wss://HOST/ws');
    this.sdkAppId = Number(o.sdkAppId);
    this.userId = String(o.userId);
    this.userSig = String(o.userSig);
    this.url = socketUrl(o.url);
    this.handlers = {};
    this.pending = {};
    this.nextId = 1;
    // userId → MemberInfo, the others in the room. A Map: userIds are the
    // members' to choose, and one named __proto__ must neither hide from
    // memberList() nor reach an object's prototype.
    this.members = new Map();
    this.task = null;  // the wx SocketTask
    this.open = false;
    this.joined = false;
    this.room = null;
  }

  /** Listens for an event; returns a function that stops listening. */
  on(event, handler) {
    (this.handlers[event] = this.handlers[event] || []).push(handler);
    return () => {
      const list = this.handlers[event] || [];
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit(event, data) {
    for (const h of (this.handlers[event] || []).slice()) {
      try { h(data); } catch (e) { console.error(e); }
    }
  }

  isOpen() { return this.open; }

  connect() {
    if (this.open) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_SETUP_FAILED, 'cannot reach ' + this.url + (why ? ': ' + why : '')));
      };
      const timer = setTimeout(() => fail('timed out'), REQUEST_TIMEOUT_MS);
      const task = wx.connectSocket({ url: this.url, fail: (err) => fail(err && err.errMsg) });
      this.task = task;
      // A socket that has been replaced by a newer one has nothing to say.
      task.onOpen(() => {
        if (task !== this.task) return;
        this.open = true;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
      task.onError((err) => { if (task === this.task && !this.open) fail(err && err.errMsg); });
      task.onMessage((msg) => {
        if (task !== this.task) return;
        let frame;
        try { frame = JSON.parse(msg.data); } catch (e) { return; }
        this.receive(frame);
      });
      task.onClose(() => {
        if (task !== this.task) return;
        fail('closed');
        this.closed();
      });
    });
  }

  request(type, data) {
    if (!this.open) return Promise.reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'not connected'));
    const id = this.nextId++;
    const frame = { id, type };
    if (data !== undefined) frame.data = data;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        delete this.pending[id];
        reject(new TrtcdError(ErrorCode.SERVER_TIMEOUT, type + ' timed out'));
      }, REQUEST_TIMEOUT_MS);
      this.pending[id] = { resolve, reject, timer };
      const task = this.task;
      task.send({
        data: JSON.stringify(frame),
        fail: (err) => {
          // A socket that cannot send is gone, even before WeChat says it
          // closed: isOpen() must tell the core to reconnect now.
          if (this.task === task) this.open = false;
          if (!this.pending[id]) return;
          clearTimeout(timer);
          delete this.pending[id];
          reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, (err && err.errMsg) || 'send failed'));
        },
      });
    });
  }

  /**
   * Takes on the room state of a reply that entered a room (joinClassroom's):
   * heartbeats and the member list.
   */
  entered(data) {
    this.joined = true;
    this.room = data;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.request('heartbeat').catch(() => {}), HEARTBEAT_MS);
    this.members = new Map();
    for (const m of data.members || []) this.members.set(m.userId, m);
    this.emit('members', this.memberList());
    return data;
  }

  memberList() { return Array.from(this.members.values()); }

  // The media belongs to the webrtc-room component (RTMP), not to TIC.
  createLocalStream() { return this.noMedia(); }
  publish() { return this.noMedia(); }
  unpublish() { return Promise.resolve(); }
  noMedia() {
    return Promise.reject(new TrtcdError(ErrorCode.INVALID_OPERATION,
      "a mini program's camera and microphone are the webrtc-room component's <live-pusher>"));
  }

  /** Leaves the room and closes the socket. */
  leave() {
    const wasJoined = this.joined;
    this.reset();
    const done = wasJoined ? this.request('leave').catch(() => {}) : Promise.resolve();
    return done.then(() => {
      const task = this.task;
      this.task = null;
      this.open = false;
      if (task) task.close({ code: 1000, reason: 'leave' });
    });
  }

  // reset drops the room's state, after a leave, a kick or a lost connection.
  reset() {
    this.joined = false;
    clearInterval(this.heartbeat);
    this.members.clear();
  }

  receive(frame) {
    if (frame.type === 'reply') {
      const p = this.pending[frame.id];
      if (!p) {
        if (frame.code) this.emit('error', new TrtcdError(frame.code, frame.message));
        return;
      }
      delete this.pending[frame.id];
      clearTimeout(p.timer);
      if (frame.code === 0) p.resolve(frame.data);
      else p.reject(new TrtcdError(frame.code, frame.message));
      return;
    }
    if (frame.type !== 'event') return;
    const d = frame.data || {};
    switch (frame.event) {
      case 'member-join':
        this.members.set(d.userId, { userId: d.userId, audio: false, video: false });
        break;
      case 'member-quit':
        this.members.delete(d.userId);
        break;
      case 'stream-add':
      case 'stream-remove':
        if (this.members.has(d.userId)) this.members.get(d.userId)[d.kind] = frame.event === 'stream-add';
        break;
      case 'mute':
        this.members.set(d.userId, d);
        break;
      case 'force-offline':
      case 'closed':
        this.reset();
        this.emit('error', new TrtcdError(d.code, d.message));
        break;
    }
    this.emit(frame.event, d);
  }

  closed() {
    this.open = false;
    for (const id of Object.keys(this.pending)) {
      const p = this.pending[id];
      clearTimeout(p.timer);
      p.reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'the connection closed'));
    }
    this.pending = {};
    if (this.joined) {
      this.reset();
      this.emit('error', new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'the connection to the server was lost'));
    }
    this.emit('connection-closed', {});
  }

  // For tests and debugging: drop the socket as a network failure would
  // (a closing socket is no longer open, as a browser's WebSocket says).
  dropConnection() {
    if (!this.task) return;
    this.open = false;
    this.task.close({ code: 1000, reason: 'dropped' });
  }
}

module.exports = { SignalClient, TrtcdError, ErrorCode, socketUrl };
