// Follows a room over trtcd's /ws (docs/protocol.md, the `follow` request)
// through wx.connectSocket. The component's member is its RTMP pusher; this
// socket only watches: it gets the member list and the room's events for
// the same userId without being a second member (a second member with the
// same userId would force the pusher offline).

// The socket closes after 60 s without a frame from us; any request counts.
const KEEPALIVE_MS = 20000;

function socketUrl(host) {
  return host.replace(/^http/, 'ws') + '/ws';
}

class RoomFollower {
  // onEvent(name, data) gets the room's events; onClose({code, reason})
  // is called once when the socket ends without close() having been called.
  constructor(host, { onEvent, onClose }) {
    this.host = host;
    this.onEvent = onEvent;
    this.onClose = onClose;
    this.nextId = 1;
    this.pending = {};
    this.task = null;
    this.closed = false;
  }

  // follow opens the socket and resolves to the reply's data
  // ({roomUUID, members}), or rejects with {errCode, errMsg}.
  follow(data) {
    return this.open().then(() => this.request('follow', data)).then((reply) => {
      this.keepalive = setInterval(() => this.request('heartbeat').catch(() => {}), KEEPALIVE_MS);
      return reply;
    });
  }

  open() {
    return new Promise((resolve, reject) => {
      const task = wx.connectSocket({
        url: socketUrl(this.host),
        fail: (err) => reject({ errCode: -1, errMsg: (err && err.errMsg) || 'connectSocket failed' })
      });
      this.task = task;
      task.onOpen(() => resolve());
      task.onError((err) => reject({ errCode: -1, errMsg: (err && err.errMsg) || 'socket error' }));
      task.onMessage((msg) => this.receive(msg.data));
      task.onClose((res) => this.ended(res || {}));
    });
  }

  request(type, data) {
    if (!this.task || this.closed) return Promise.reject({ errCode: -1, errMsg: 'not connected' });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending[id] = { resolve, reject };
      this.task.send({
        data: JSON.stringify({ id, type, data }),
        fail: (err) => {
          delete this.pending[id];
          reject({ errCode: -1, errMsg: (err && err.errMsg) || 'send failed' });
        }
      });
    });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (frame.type === 'reply') {
      const p = this.pending[frame.id];
      if (!p) return;
      delete this.pending[frame.id];
      if (frame.code) p.reject({ errCode: frame.code, errMsg: frame.message });
      else p.resolve(frame.data);
    } else if (frame.type === 'event') {
      this.onEvent(frame.event, frame.data || {});
    }
  }

  ended(res) {
    clearInterval(this.keepalive);
    const pending = this.pending;
    this.pending = {};
    Object.keys(pending).forEach((id) => pending[id].reject({ errCode: -1, errMsg: 'socket closed' }));
    if (!this.closed) {
      this.closed = true;
      this.onClose(res);
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    if (this.task) this.task.close({ code: 1000, reason: 'stop' });
  }
}

module.exports = { RoomFollower };
