// The TIC core: Tencent's interactive-classroom (TIC) API on trtcd's /ws
// protocol (docs/classroom.md), shared by both TIC SDKs:
//   - the browser's /sdk/tic.js, whose transport is /sdk/trtcd.js (a
//     WebSocket, and WebRTC for audio and video);
//   - the mini program's miniprogram/tic/tic.js, whose transport is
//     wx.connectSocket (audio and video are the webrtc-room component's).
// Everything TIC does (calls and callbacks, listeners, the class's message
// order, history replay, retries, reconnection) lives here once; a
// transport only carries frames.
//
// This is the one copy: a mini program loads files only from its own
// folder, so the core lives in miniprogram/tic, and trtcd embeds it (core.go)
// and serves it to browsers at /sdk/tic-core.js.
//
// The file's shape is the one both runtimes load without a build step: a
// CommonJS module where `module` exists (mini programs, Node), otherwise a
// script that sets the global `TICCore` (/sdk/tic.js imports it for that).
// Plain ES2017: WeChat's older JavaScript engines lack `?.`, `??` and
// object spread.
(function (root, factory) {
  'use strict';
  var core = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = core;
  else root.TICCore = core;
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  /** The `module` argument of TIC callbacks: which part failed. */
  const TICModule = Object.freeze({ IM: 0, TRTC: 1, BOARD: 2 });

  /** The extension that marks group custom messages as whiteboard data. */
  const BOARD_EXT = 'TXWhiteBoardExt';

  // IM codes the SDK reacts to (docs/classroom.md).
  const CODE_CLASS_NOT_FOUND = 10010;
  // A reader ahead of the server's history pace is told to ask again later.
  const CODE_IM_RATE_LIMITED = 10023;
  // Idle signed-in connections need a frame now and then (the server drops a
  // silent one after 60 s); in a class the transport heartbeats on its own.
  const HEARTBEAT_MS = 5000;
  // History pages: the server caps a page at 1000.
  const HISTORY_PAGE = 500;
  // Reconnection waits 1, 2, 4, 8, 8 … seconds and gives up after ~1 minute.
  const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000];
  // How many message ids are remembered to drop duplicates.
  const SEEN_IDS = 2000;

  /**
   * Creates a TIC instance on a transport:
   *   createClient({sdkAppId, userId, userSig, url}) → a client with userId,
   *     userSig, joined, connect(), request(type, data), on(event, fn),
   *     emit(event, data), entered(joinReply), reset(), leave(),
   *     createLocalStream(), publish(stream), unpublish()
   *   isOpen(client) → whether its socket is open
   *   TrtcdError(code, reason), ErrorCode: the transport's errors, so the
   *     application's `instanceof` and codes work
   *   randomId() → a fresh message id
   * `options.url` is the /ws endpoint (the transport may have a default).
   */
  function createTIC(transport, options) {
    return new TIC(transport, options || {});
  }

  class TIC {
    constructor(transport, options) {
      this.transport = transport;
      this.url = options.url;
      this.sdkAppId = 0;
      this.client = null;      // the transport's client of the signed-in user
      this.userId = '';
      this.loggedIn = false;
      this.listeners = { message: new Set(), event: new Set(), status: new Set() };
      this.board = null;       // receives TXWhiteBoardExt data
      this.boardOption = {};
      this.classRef = null;    // {classId} or {strClassId} while in a class
      this.joinParams = null;  // what joinClassroom sent, for rejoining
      this.classInfo = null;   // the joinClassroom reply
      this.localStream = null; // what publishLocalStream published, for rejoining
      this.lastSeq = 0;        // the last group seq delivered
      this.early = [];         // group messages that arrived ahead of lastSeq + 1
      this.catchingUp = null;  // the history fetch in flight
      this.seen = new Set();   // `${from}\n${clientMsgId}` already delivered (or sent by us)
      this.reconnecting = null;
    }

    // --- TIC calls ---

    /** Binds the application. */
    init(sdkAppId, cb) {
      return this.settle(TICModule.IM, cb, () => {
        if (!Number(sdkAppId)) throw this.error('INVALID_PARAMETER', 'sdkAppId is required');
        this.sdkAppId = Number(sdkAppId);
      });
    }

    /** Signs in: `{userId, userSig}`. A second sign-in of the same user elsewhere gets onTICForceOffline here. */
    login(user, cb) {
      const { userId, userSig } = user || {};
      return this.settle(TICModule.IM, cb, async () => {
        if (!this.sdkAppId) throw this.error('INVALID_OPERATION', 'call init(sdkAppId) first');
        if (this.loggedIn) {
          if (userId === this.userId) return { userId };
          await this.logout();
        }
        const client = this.transport.createClient({ sdkAppId: this.sdkAppId, userId, userSig, url: this.url });
        this.client = client;
        this.userId = client.userId;
        this.wire(client);
        try {
          await client.connect();
          const reply = await client.request('login', this.credentials());
          this.loggedIn = true;
          this.heartbeat = setInterval(() => this.idleHeartbeat(), HEARTBEAT_MS);
          return reply;
        } catch (e) {
          this.client = null;
          client.leave();
          throw e;
        }
      });
    }

    /** Signs out, leaving the class first. */
    logout(cb) {
      return this.settle(TICModule.IM, cb, async () => {
        if (this.classRef) await this.quitClassroom().catch(() => {});
        this.loggedIn = false;
        clearInterval(this.heartbeat);
        const client = this.client;
        this.client = null;
        if (client) await client.leave();
      });
    }

    /** Teacher: creates a class (its room and its message group). Numbers are classIds, strings strClassIds. */
    createClassroom(classId, cb) {
      return this.settle(TICModule.IM, cb, () => this.call('createClassroom', this.classRef_(classId)));
    }

    /** Creator (or admin): ends a class for good; its members get onTICClassroomDestroy. */
    destroyClassroom(classId, cb) {
      return this.settle(TICModule.IM, cb, async () => {
        const ref = this.classRef_(classId);
        const reply = await this.call('destroyClassroom', ref);
        // The server takes the destroyer out of the room before it closes, so
        // no event comes here: the callback is the news.
        if (this.classRef && sameClass(this.classRef, ref)) this.endClassLocally();
        return reply;
      });
    }

    /**
     * Enters a class and its room, then replays the group messages missed so
     * far (board data first) before resolving. `classId` may also be an object
     * with the room options: `{classId | strClassId, template, role,
     * privateMapKey, recordId, minBitrate, maxBitrate}`.
     */
    joinClassroom(classId, boardOption, cb) {
      if (typeof boardOption === 'function') { cb = boardOption; boardOption = {}; }
      return this.settle(TICModule.TRTC, cb, async () => {
        const params = this.joinParams_(classId);
        const ref = this.classRef_(params.classId !== undefined ? params.classId : params.strClassId);
        if (this.classRef) {
          if (sameClass(this.classRef, ref)) throw this.error('INVALID_OPERATION', 'already in this class');
          throw this.error('INVALID_OPERATION', 'quit the current class first');
        }
        this.boardOption = Object.assign({}, boardOption);
        if (this.board && this.board.setOption) this.board.setOption(this.boardOption);
        this.forgetClass();
        this.classRef = ref;
        this.joinParams = Object.assign({}, params, ref);
        try {
          await this.enterClass();
        } catch (e) {
          this.classRef = null;
          throw e.code === CODE_CLASS_NOT_FOUND ? inModule(e, TICModule.IM) : e;
        }
        await this.catchUp();
        return this.classInfo;
      });
    }

    /** Leaves the class (only the caller); the class goes on. */
    quitClassroom(cb) {
      return this.settle(TICModule.IM, cb, async () => {
        if (!this.classRef) return;
        this.leaveClassLocally();
        await this.client.request('quitClassroom').catch(e => {
          if (e.code !== this.transport.ErrorCode.SIGNAL_CHANNEL_ERROR) throw e; // a dropped socket has left already
        });
      });
    }

    /** C2C text (TIC's sendTextMessage; sendC2CTextMessage in TIC 2). */
    sendTextMessage(userId, text, cb) {
      return this.settle(TICModule.IM, cb, () => this.send({ to: this.required(userId, 'userId'), type: 'text', text: this.required(text, 'text') }));
    }

    /** C2C custom message; `data` is a string (other values are sent as JSON). */
    sendCustomMessage(userId, data, cb) {
      return this.settle(TICModule.IM, cb, () => this.send({ to: this.required(userId, 'userId'), type: 'custom', data: asString(data) }));
    }

    sendC2CTextMessage(userId, text, cb) { return this.sendTextMessage(userId, text, cb); }
    sendC2CCustomMessage(userId, data, cb) { return this.sendCustomMessage(userId, data, cb); }

    /** Text to the whole class. */
    sendGroupTextMessage(text, cb) {
      return this.settle(TICModule.IM, cb, () => this.send({ type: 'text', text: this.required(text, 'text') }));
    }

    /** Custom message to the whole class. */
    sendGroupCustomMessage(data, cb) {
      return this.settle(TICModule.IM, cb, () => this.send({ type: 'custom', data: asString(data) }));
    }

    /** Whiteboard data to the class: a group custom message with ext TXWhiteBoardExt. */
    sendBoardData(data, cb) {
      return this.settle(TICModule.BOARD, cb, () => this.send({ type: 'custom', data: asString(data), ext: BOARD_EXT }));
    }

    /**
     * Publishes the camera and microphone (or `stream`) into the class's room;
     * the stream is published again after a reconnection. Resolves with it.
     */
    publishLocalStream(stream, cb) {
      if (typeof stream === 'function') { cb = stream; stream = null; }
      return this.settle(TICModule.TRTC, cb, async () => {
        this.assertInClass();
        const s = stream || await this.client.createLocalStream();
        await this.client.publish(s);
        this.localStream = s;
        return s;
      });
    }

    /** Stops publishing (the stream's tracks stay with the application). */
    unpublishLocalStream(cb) {
      return this.settle(TICModule.TRTC, cb, async () => {
        this.localStream = null;
        if (this.client) await this.client.unpublish();
      });
    }

    // --- listeners ---

    addTICMessageListener(l) { this.listeners.message.add(l); }
    removeTICMessageListener(l) { remove(this.listeners.message, l); }
    addTICEventListener(l) { this.listeners.event.add(l); }
    removeTICEventListener(l) { remove(this.listeners.event, l); }
    addTICStatusListener(l) { this.listeners.status.add(l); }
    removeTICStatusListener(l) { remove(this.listeners.status, l); }

    // --- the underlying objects ---

    /** The transport's client: members, raw events (and in a browser audio and video). */
    getTrtcClient() { return this.client; }
    /** TIC's IM instance: here the same client, which carries the messages. */
    getImInstance() { return this.client; }
    /** The board set with setBoard. */
    getBoardInstance() { return this.board; }
    /** Sets the board that receives TXWhiteBoardExt data: `{addSyncData(data, msg), setOption?(opt), reset?()}`. */
    setBoard(board) {
      this.board = board;
      if (board && board.setOption) board.setOption(this.boardOption);
    }
    /** The joinClassroom reply of the current class (null outside one). */
    getClassInfo() { return this.classRef ? this.classInfo : null; }
    /** The last group seq delivered: what a rejoin replays after. */
    getLastSeq() { return this.lastSeq; }

    // --- internals: calls and callbacks ---

    // settle runs work and reports its outcome both ways: to cb(module, code,
    // desc) and as the returned Promise. With a callback the Promise is marked
    // handled, so callers who use only callbacks see no unhandled rejections.
    settle(module, cb, work) {
      const p = Promise.resolve().then(work).catch(e => { throw inModule(this.asTrtcdError(e), module); });
      p.then(() => callBack(cb, module, 0, ''), e => callBack(cb, e.module, e.code, e.reason));
      if (cb) p.catch(() => {});
      return p;
    }

    error(name, reason) { return new this.transport.TrtcdError(this.transport.ErrorCode[name], reason); }

    asTrtcdError(e) {
      if (e instanceof this.transport.TrtcdError) return e;
      return this.error('INVALID_OPERATION', (e && e.message) || String(e));
    }

    required(v, name) {
      if (v === undefined || v === null || v === '') throw this.error('INVALID_PARAMETER', `${name} is required`);
      return String(v);
    }

    classRef_(id) {
      if (typeof id === 'number' && id > 0) return { classId: id };
      if (typeof id === 'string' && id !== '') return { strClassId: id };
      throw this.error('INVALID_PARAMETER', 'classId: a number (classId) or a string (strClassId)');
    }

    joinParams_(id) {
      if (id && typeof id === 'object') {
        const rest = Object.assign({}, id);
        delete rest.classId;
        delete rest.strClassId;
        return Object.assign(rest, this.classRef_(id.classId || id.strClassId));
      }
      return this.classRef_(id);
    }

    credentials() {
      return { sdkAppId: this.sdkAppId, userId: this.client.userId, userSig: this.client.userSig };
    }

    // call sends a request once signed in, waiting out a reconnection.
    async call(type, data) {
      if (!this.client) throw this.error('INVALID_OPERATION', 'login first');
      if (this.reconnecting) await this.reconnecting;
      return this.client.request(type, data);
    }

    // send delivers a message with a fresh clientMsgId and retries it once,
    // with the same id, when the socket dropped under it: the server delivers
    // a retried id once.
    async send(fields) {
      const clientMsgId = this.transport.randomId();
      this.markSeen(this.userId, clientMsgId); // our own echo is not news
      const body = Object.assign({}, fields, { clientMsgId });
      const codes = this.transport.ErrorCode;
      let reply;
      try {
        reply = await this.call('sendMessage', body);
      } catch (e) {
        if (e.code !== codes.SIGNAL_CHANNEL_ERROR && e.code !== codes.SERVER_TIMEOUT) throw e;
        await this.reconnect();
        reply = await this.call('sendMessage', body);
      }
      // Our group message is in sequence too; an echo may have counted it already.
      if (!fields.to && reply.seq === this.lastSeq + 1 && !this.catchingUp) this.lastSeq = reply.seq;
      return reply;
    }

    assertInClass() {
      if (!this.classRef || !this.client || !this.client.joined) throw this.error('INVALID_OPERATION', 'join a classroom first');
    }

    idleHeartbeat() {
      const c = this.client;
      if (c && !c.joined && this.transport.isOpen(c)) c.request('heartbeat').catch(() => {});
    }

    // --- internals: the class ---

    async enterClass() {
      const data = await this.client.request('joinClassroom', this.joinParams);
      this.classInfo = data;
      this.client.entered(data); // members, heartbeats, subscriptions: as after a room join
    }

    // leaveClassLocally drops the room's connections and the class's state.
    leaveClassLocally() {
      if (this.client) this.client.reset();
      this.classRef = null;
      this.localStream = null;
    }

    endClassLocally() {
      this.leaveClassLocally();
      this.forgetClass();
    }

    // forgetClass starts the message sequence over, for another class: the
    // next join replays the whole history onto a clean board.
    forgetClass() {
      this.lastSeq = 0;
      this.early = [];
      this.seen.clear(); // a replay from seq 1 must deliver everything again
      if (this.board && this.board.reset) this.board.reset();
    }

    // --- internals: events ---

    wire(client) {
      client.on('message', m => this.onMessage(m));
      client.on('member-join', d => this.inClass() && this.fire('event', 'onTICMemberJoin', d.userIds || [d.userId]));
      client.on('member-quit', d => this.inClass() && this.fire('event', 'onTICMemberQuit', d.userIds || [d.userId]));
      client.on('classroom-destroyed', d => this.onDestroyed(d));
      client.on('room-closed', () => this.onRoomClosed());
      // Keyed on the event, not its code: the code is the server's to choose.
      client.on('force-offline', () => this.onForceOffline(client));
      client.on('connection-closed', () => {
        if (client !== this.client || !this.loggedIn) return;
        this.reconnect().catch(() => {});
      });
    }

    inClass() { return !!this.classRef; }

    onDestroyed(d) {
      if (!this.classRef || !sameClass(this.classRef, d)) return;
      this.endClassLocally();
      this.fire('event', 'onTICClassroomDestroy');
    }

    // onRoomClosed: the room under the class was closed (the class destroyed,
    // or the room dismissed over REST); the media is over either way.
    onRoomClosed() {
      if (this.classRef) this.leaveClassLocally();
    }

    onForceOffline(client) {
      if (client !== this.client) return;
      this.loggedIn = false; // no reconnection: the other sign-in has the account now
      clearInterval(this.heartbeat);
      this.leaveClassLocally();
      this.fire('status', 'onTICForceOffline');
    }

    // --- internals: messages in order ---

    onMessage(msg) {
      if (!msg.seq) return this.deliver(msg); // C2C
      if (!this.classRef || !sameClass(this.classRef, msg)) return;
      this.acceptGroup(msg);
    }

    // acceptGroup delivers group messages in seq order exactly once: old ones
    // are dropped, early ones wait for the history that fills the gap.
    acceptGroup(msg) {
      if (msg.seq <= this.lastSeq) return;
      if (this.catchingUp || msg.seq !== this.lastSeq + 1) {
        this.early.push(msg);
        this.catchUp();
        return;
      }
      this.lastSeq = msg.seq;
      this.deliver(msg);
    }

    // catchUp fetches the history after lastSeq (one fetch at a time) and
    // then releases the messages that arrived meanwhile.
    catchUp() {
      if (!this.catchingUp) {
        const done = () => { this.catchingUp = null; this.releaseEarly(); };
        this.catchingUp = this.fetchMissed()
          .catch(e => console.warn('tic: history', e))
          .then(done, done);
      }
      return this.catchingUp;
    }

    async fetchMissed() {
      for (;;) {
        const page = await this.historyPage();
        const messages = (page.messages || []).filter(m => m.seq > this.lastSeq).sort((a, b) => a.seq - b.seq);
        this.replay(messages);
        if (!page.more || messages.length === 0) return;
      }
    }

    // historyPage asks for the page after lastSeq, waiting as long as the
    // server says while the reader is ahead of its pace (a late joiner of
    // a class with megabytes of board data), so the board is rebuilt whole.
    async historyPage() {
      for (;;) {
        try {
          return await this.client.request('history', { afterSeq: this.lastSeq, limit: HISTORY_PAGE });
        } catch (e) {
          if (e.code !== CODE_IM_RATE_LIMITED) throw e;
          await new Promise(resolve => setTimeout(resolve, retryDelayMs(e.message)));
        }
      }
    }

    // replay hands a page of history to the board first, so it is up to date
    // before the chat shows what was said about it.
    replay(messages) {
      for (const m of messages) if (isBoardData(m)) this.deliver(m);
      for (const m of messages) if (!isBoardData(m)) this.deliver(m);
      if (messages.length) this.lastSeq = messages[messages.length - 1].seq;
    }

    releaseEarly() {
      const early = this.early.sort((a, b) => a.seq - b.seq);
      this.early = [];
      for (const m of early) {
        if (m.seq <= this.lastSeq) continue;
        // A gap the history could not fill (trimmed by the server's cap) must
        // not stall the class: deliver what there is.
        this.lastSeq = m.seq;
        this.deliver(m);
      }
    }

    // deliver routes one message to the board or the message listeners.
    deliver(msg) {
      if (this.seen.has(`${msg.from}\n${msg.clientMsgId}`)) return; // ours, or a retry delivered twice
      this.markSeen(msg.from, msg.clientMsgId);
      if (isBoardData(msg)) {
        if (this.board) this.board.addSyncData(msg.data, msg);
        else console.warn('tic: board data with no board set (setBoard)');
        return;
      }
      this.fire('message', 'onTICRecvMessage', msg);
      if (msg.from === this.userId) return; // a C2C message we sent from another connection
      const body = msg.type === 'text' ? msg.text || '' : msg.data || '';
      const group = msg.seq > 0;
      const name = msg.type === 'text'
        ? (group ? 'onTICRecvGroupTextMessage' : 'onTICRecvTextMessage')
        : (group ? 'onTICRecvGroupCustomMessage' : 'onTICRecvCustomMessage');
      this.fire('message', name, msg.from, body, utf8Length(body));
    }

    markSeen(from, id) {
      this.seen.add(`${from}\n${id}`);
      if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value);
    }

    fire(kind, name, ...args) {
      for (const l of Array.from(this.listeners[kind])) {
        try { if (l && typeof l[name] === 'function') l[name](...args); } catch (e) { console.error(e); }
      }
    }

    // --- internals: reconnection ---

    // reconnect signs in again after a dropped socket, rejoins the class,
    // publishes again and replays what was missed. One at a time.
    reconnect() {
      const c = this.client;
      if (c && this.transport.isOpen(c) && !this.reconnecting) return Promise.resolve();
      if (!this.reconnecting) {
        this.fire('status', 'onTICConnectionLost');
        const done = () => { this.reconnecting = null; };
        this.reconnecting = this.restoreWithRetries().then(
          v => { done(); return v; },
          e => { done(); throw e; });
      }
      return this.reconnecting;
    }

    async restoreWithRetries() {
      const codes = this.transport.ErrorCode;
      let last;
      for (const delay of RECONNECT_DELAYS_MS) {
        await sleep(delay);
        if (!this.loggedIn) throw this.error('INVALID_OPERATION', 'signed out');
        try {
          await this.restore();
          this.fire('status', 'onTICConnectionRestored');
          return;
        } catch (e) {
          last = e;
          if (e.code === CODE_CLASS_NOT_FOUND) { // destroyed while we were away
            this.endClassLocally();
            this.fire('event', 'onTICClassroomDestroy');
            return;
          }
          if (!isConnectionError(e, codes)) break; // the server said no: retrying will not help
        }
      }
      this.loggedIn = false;
      clearInterval(this.heartbeat);
      this.leaveClassLocally();
      const code = last && last.code !== undefined ? last.code : codes.SIGNAL_CHANNEL_ERROR;
      const reason = (last && last.reason) || 'cannot reach the server';
      this.fire('status', 'onTICConnectionFailed', code, reason);
      throw last || this.error('SIGNAL_CHANNEL_ERROR', 'cannot reach the server');
    }

    async restore() {
      const c = this.client;
      c.reset();
      await c.connect();
      await c.request('login', this.credentials());
      if (!this.classRef) return;
      await this.enterClass();
      // A camera that cannot be published again is the page's to report; the
      // class itself is back.
      if (this.localStream) await c.publish(this.localStream).catch(e => c.emit('error', e));
      await this.catchUp();
    }
  }

  // --- helpers ---

  // sameClass compares class references, replies and messages alike: the
  // server leaves out the id a class does not use.
  function sameClass(a, b) {
    return (a.classId || 0) === (b.classId || 0) && (a.strClassId || '') === (b.strClassId || '');
  }

  function isBoardData(m) { return m.seq > 0 && m.type === 'custom' && m.ext === BOARD_EXT; }

  // retryDelayMs reads the wait from a refusal's "ask again in 1.5s" (or
  // "250ms"), or a second when there is none to read.
  function retryDelayMs(message) {
    const m = /ask again in ([\d.]+)(ms|s)\b/.exec(message || '');
    if (!m) return 1000;
    return Math.min(Math.ceil(parseFloat(m[1]) * (m[2] === 's' ? 1000 : 1)), 60000) + 20;
  }

  function isConnectionError(e, codes) {
    return [codes.SIGNAL_CHANNEL_ERROR, codes.SIGNAL_CHANNEL_SETUP_FAILED, codes.SERVER_TIMEOUT].indexOf(e.code) >= 0;
  }

  function asString(data) { return typeof data === 'string' ? data : JSON.stringify(data); }

  function inModule(e, module) {
    if (e.module === undefined) e.module = module;
    return e;
  }

  function callBack(cb, module, code, desc) {
    if (!cb) return;
    try { cb(module, code, desc); } catch (e) { console.error(e); }
  }

  function remove(set, l) {
    if (l === undefined) set.clear();
    else set.delete(l);
  }

  // utf8Length is the `len` TIC's listeners get: the UTF-8 size of the text
  // (what TextEncoder counts; mini programs have no TextEncoder).
  function utf8Length(s) {
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3; // the BMP, and a lone surrogate as U+FFFD
    }
    return n;
  }

  function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }

  return { createTIC, TICModule, BOARD_EXT, utf8Length };
});
