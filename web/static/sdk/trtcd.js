// trtcd browser SDK: a small TRTC-like client for trtcd's /ws protocol
// (docs/protocol.md). An ES module with no dependencies and no build step:
//
//   import { createClient } from '/sdk/trtcd.js';
//   const client = createClient({ sdkAppId, userId, userSig });
//   client.on('remote-stream', ({ userId, stream }) => video.srcObject = stream);
//   await client.join({ roomId: 1234, template: '1v1bigsmall' });
//   await client.publish(await client.createLocalStream());

/** An error from the server or the SDK, with a TRTC code (docs/errors.md). */
export class TrtcdError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'TrtcdError';
    this.code = code;
    this.reason = message;
  }
}

// SDK-side codes, in the Web SDK's range, for failures that never reach
// the server.
export const ErrorCode = Object.freeze({
  INVALID_PARAMETER: 4096,
  INVALID_OPERATION: 4097,
  SIGNAL_CHANNEL_SETUP_FAILED: 16385,
  SIGNAL_CHANNEL_ERROR: 16386,
  ICE_TRANSPORT_ERROR: 16387,
  JOIN_ROOM_FAILED: 16388,
  SERVER_TIMEOUT: 16449,
  DEVICE_ERROR: 16451,
  ROOM_FULL: 102052,
  USER_SIG_CHECK_FAILED: 70346,
  FORCE_OFFLINE: 14011,
});

const HEARTBEAT_MS = 5000;
const REQUEST_TIMEOUT_MS = 15000;

/** Creates a client. `url` defaults to the /ws endpoint of the page's host. */
export function createClient(options) {
  return new Client(options);
}

class Client {
  constructor({ sdkAppId, userId, userSig, url } = {}) {
    if (!sdkAppId || !userId || !userSig) {
      throw new TrtcdError(ErrorCode.INVALID_PARAMETER, 'sdkAppId, userId and userSig are required');
    }
    this.sdkAppId = Number(sdkAppId);
    this.userId = String(userId);
    this.userSig = String(userSig);
    this.url = url || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.handlers = new Map();
    this.pending = new Map();
    this.nextId = 1;
    this.members = new Map(); // userId → MemberInfo
    this.remote = new Map();  // userId → { pc, stream, kinds }
    this.publisher = null;    // { pc, stream }
    this.joined = false;
  }

  /** Listens for an event; returns a function that stops listening. */
  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event).delete(handler);
  }

  emit(event, data) {
    for (const h of this.handlers.get(event) || []) {
      try { h(data); } catch (e) { console.error(e); }
    }
  }

  /** Enters a room: { roomId | strRoomId, privateMapKey, template, role, minBitrate, maxBitrate, recordId, pureAudioPushMod }. */
  async join(params = {}) {
    if (this.joined) throw new TrtcdError(ErrorCode.INVALID_OPERATION, 'already joined');
    await this.connect();
    const data = await this.request('join', {
      sdkAppId: this.sdkAppId, userId: this.userId, userSig: this.userSig,
      roomId: params.roomId ? Number(params.roomId) : 0, strRoomId: params.strRoomId || '',
      privateMapKey: params.privateMapKey || '', template: params.template || '', role: params.role || 'anchor',
      recordId: params.recordId ?? '', pureAudioPushMod: params.pureAudioPushMod || 0,
      minBitrate: params.minBitrate || 0, maxBitrate: params.maxBitrate || 0,
    });
    return this.entered(data);
  }

  /**
   * Takes on the room state of a successful `join` reply (or of a reply that
   * enters a room the same way, such as tic.js's `joinClassroom`): heartbeats,
   * the member list, and subscriptions to those already publishing.
   */
  entered(data) {
    this.joined = true;
    this.room = data;
    this.heartbeat = setInterval(() => this.request('heartbeat').catch(() => {}), HEARTBEAT_MS);
    for (const m of data.members || []) {
      this.members.set(m.userId, m);
      if (m.audio || m.video) this.subscribe(m.userId).catch(e => this.emit('error', e));
    }
    this.emit('members', [...this.members.values()]);
    return data;
  }

  /** Opens the camera and microphone. */
  async createLocalStream({ audio = true, video = true, cameraId } = {}) {
    try {
      const constraints = {
        audio,
        video: video ? { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 }, ...(cameraId ? { deviceId: { exact: cameraId } } : {}) } : false,
      };
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (e) {
      throw new TrtcdError(ErrorCode.DEVICE_ERROR, `camera or microphone: ${e.message}`);
    }
  }

  /** Publishes a local stream's audio and video. */
  async publish(stream) {
    this.assertJoined();
    const pc = new RTCPeerConnection();
    for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
    this.watch(pc, 'publish');
    let answer;
    try {
      answer = await this.negotiate(pc, 'publish', {});
    } catch (e) {
      pc.close();
      throw e;
    }
    if (this.publisher) this.publisher.pc.close();
    this.publisher = { pc, stream };
    return answer;
  }

  async unpublish() {
    if (!this.publisher) return;
    this.publisher.pc.close();
    this.publisher = null;
    await this.request('unpublish');
  }

  /** Receives a member's streams; resolves with a MediaStream (also emitted as remote-stream). */
  async subscribe(userId) {
    this.assertJoined();
    const existing = this.remote.get(userId);
    if (existing) return existing.stream;
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    const entry = { pc, stream };
    this.remote.set(userId, entry);
    pc.ontrack = e => {
      stream.addTrack(e.track);
      this.emit('remote-stream', { userId, stream });
    };
    this.watch(pc, 'subscribe', userId);
    try {
      await this.negotiate(pc, 'subscribe', { userId });
    } catch (e) {
      this.remote.delete(userId);
      pc.close();
      throw e;
    }
    return stream;
  }

  async unsubscribe(userId) {
    const entry = this.remote.get(userId);
    if (!entry) return;
    entry.pc.close();
    this.remote.delete(userId);
    await this.request('unsubscribe', { userId });
  }

  /** Mutes or unmutes the local microphone and tells the others. */
  async muteAudio(muted) { return this.mute('audio', muted); }
  /** Turns the local camera off or on and tells the others. */
  async muteVideo(muted) { return this.mute('video', muted); }

  async mute(kind, muted) {
    for (const t of this.publisher?.stream.getTracks() || []) if (t.kind === kind) t.enabled = !muted;
    await this.request('mute', kind === 'audio' ? { audioMuted: muted } : { videoMuted: muted });
  }

  /** Switches to another camera without renegotiating. */
  async switchCamera(deviceId) {
    this.assertJoined();
    if (!this.publisher) throw new TrtcdError(ErrorCode.INVALID_OPERATION, 'not publishing');
    const cams = (await navigator.mediaDevices.enumerateDevices()).filter(d => d.kind === 'videoinput');
    const current = this.publisher.stream.getVideoTracks()[0];
    const currentId = current?.getSettings().deviceId;
    const next = deviceId || (cams.find(c => c.deviceId !== currentId) || cams[0])?.deviceId;
    const fresh = (await this.createLocalStream({ audio: false, cameraId: next })).getVideoTracks()[0];
    const sender = this.publisher.pc.getSenders().find(s => s.track && s.track.kind === 'video');
    await sender.replaceTrack(fresh);
    if (current) { this.publisher.stream.removeTrack(current); current.stop(); }
    this.publisher.stream.addTrack(fresh);
    return fresh;
  }

  /** Leaves the room and stops everything. */
  async leave() {
    const stream = this.publisher?.stream;
    const wasJoined = this.joined;
    this.reset();
    for (const t of stream?.getTracks() || []) t.stop();
    if (wasJoined) await this.request('leave').catch(() => {});
    this.ws?.close();
    this.ws = null;
  }

  // reset drops every connection and all room state (the local stream stays
  // with the application), after a leave, a kick or a lost connection.
  reset() {
    this.joined = false;
    clearInterval(this.heartbeat);
    for (const { pc } of this.remote.values()) pc.close();
    this.remote.clear();
    this.publisher?.pc.close();
    this.publisher = null;
    this.members.clear();
  }

  // --- internals ---

  assertJoined() {
    if (!this.joined) throw new TrtcdError(ErrorCode.INVALID_OPERATION, 'join a room first');
  }

  connect() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_SETUP_FAILED, 'signalling timed out')), REQUEST_TIMEOUT_MS);
      ws.onopen = () => { clearTimeout(timer); resolve(); };
      ws.onerror = () => { clearTimeout(timer); reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_SETUP_FAILED, `cannot reach ${this.url}`)); };
      // A socket that has been replaced by a newer one has nothing to say.
      ws.onmessage = e => { if (ws === this.ws) this.receive(JSON.parse(e.data)); };
      ws.onclose = () => { if (ws === this.ws) this.closed(); };
    });
  }

  request(type, data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'not connected'));
    }
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, type, data }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TrtcdError(ErrorCode.SERVER_TIMEOUT, `${type} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  receive(frame) {
    if (frame.type === 'reply') {
      const p = this.pending.get(frame.id);
      if (!p) {
        if (frame.code) this.emit('error', new TrtcdError(frame.code, frame.message));
        return;
      }
      this.pending.delete(frame.id);
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
      case 'member-quit': {
        this.members.delete(d.userId);
        const r = this.remote.get(d.userId);
        if (r) { r.pc.close(); this.remote.delete(d.userId); }
        break;
      }
      case 'stream-add':
        if (this.members.has(d.userId)) this.members.get(d.userId)[d.kind] = true;
        if (this.joined) this.subscribe(d.userId).catch(e => this.emit('error', e));
        break;
      case 'stream-remove':
        if (this.members.has(d.userId)) this.members.get(d.userId)[d.kind] = false;
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
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'the connection closed'));
      this.pending.delete(id);
    }
    if (this.joined) {
      this.reset();
      this.emit('error', new TrtcdError(ErrorCode.SIGNAL_CHANNEL_ERROR, 'the connection to the server was lost'));
    }
    this.emit('connection-closed', {});
  }

  async negotiate(pc, type, extra) {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await iceGathered(pc);
    const data = await this.request(type, { ...extra, sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
    return data;
  }

  watch(pc, what, userId) {
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') {
        this.emit('error', new TrtcdError(ErrorCode.ICE_TRANSPORT_ERROR, `${what}${userId ? ' ' + userId : ''}: the media connection failed`));
      }
      this.emit('connection-state', { what, userId, state: pc.connectionState });
    };
  }
}

function iceGathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise(resolve => {
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, 1500); // the server is ICE-lite: host candidates are enough
  });
}
