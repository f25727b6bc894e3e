// trtcd browser SDK: a small TRTC-like client for trtcd's /ws protocol
// (docs/protocol.md). An ES module with no dependencies and no build step:
//
//   import { createClient } from '/sdk/trtcd.js';
//   const client = createClient({ sdkAppId, userId, userSig });
//   client.on('remote-stream', ({ userId, stream }) => video.srcObject = stream);
//   await client.join({ roomId: 1234, template: '1v1bigsmall' });
//   await client.publish(await client.createLocalStream());
//
// A member's streams are TRTC's: the camera's audio and main (big) video,
// optionally a small video beside it (enableSmallStream), and the screen
// share (publishScreen), on a PeerConnection of its own. A remote screen
// arrives as its own MediaStream: remote-stream with type 'sub'.

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
// The small stream: half the camera's width and height, at most 200 kbps.
const SMALL_SCALE = 2;
const SMALL_MAX_BPS = 200_000;
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
    this.remote = new Map();  // userId → { pc, stream, screen, videoTx, screenTx, screenShown }
    this.publisher = null;    // { pc, stream, small }: small is the small stream's track
    this.screen = null;       // { pc, stream }: the screen share
    this.smallStream = false; // publish a small stream beside the camera's
    this.videoTypes = new Map(); // userId → 'big' | 'small' (setRemoteVideoStreamType)
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
      if (m.audio || m.video || m.sub) this.subscribe(m.userId).catch(e => this.emit('error', e));
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

  /**
   * Publishes a local stream's audio and video; with enableSmallStream, a
   * small copy of the video too. Publishing again replaces the publish.
   */
  async publish(stream) {
    this.assertJoined();
    const pc = new RTCPeerConnection();
    const camera = stream.getVideoTracks()[0];
    for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
    let small = null;
    if (camera && this.smallStream) {
      // The small stream is the camera again, encoded at half the width and
      // height at about a quarter of the bitrate (the Web SDK's 320x180
      // beside 640x360): a cloned track, so muting and switching cameras
      // act on both.
      small = camera.clone();
      small.enabled = camera.enabled;
      pc.addTransceiver(small, { direction: 'sendonly', streams: [stream],
        sendEncodings: [{ scaleResolutionDownBy: SMALL_SCALE, maxBitrate: SMALL_MAX_BPS }] });
    }
    this.watch(pc, 'publish');
    let answer;
    try {
      answer = await this.negotiate(pc, 'publish', small ? { video: ['main', 'small'] } : {});
    } catch (e) {
      pc.close();
      small?.stop();
      throw e;
    }
    this.dropPublisher();
    this.publisher = { pc, stream, small };
    return answer;
  }

  async unpublish() {
    if (!this.publisher) return;
    this.dropPublisher();
    await this.request('unpublish');
  }

  // dropPublisher closes the camera's PeerConnection and the small
  // stream's clone; the application's stream stays.
  dropPublisher() {
    this.publisher?.pc.close();
    this.publisher?.small?.stop();
    this.publisher = null;
  }

  /**
   * Publishes a small stream beside the camera's from now on (republishing
   * the camera if it is published): viewers may then choose it with
   * setRemoteVideoStreamType.
   */
  async enableSmallStream() { return this.setSmallStream(true); }
  /** Stops publishing the small stream. */
  async disableSmallStream() { return this.setSmallStream(false); }

  async setSmallStream(on) {
    if (this.smallStream === on) return;
    this.smallStream = on;
    if (this.publisher) await this.publish(this.publisher.stream);
  }

  /**
   * Shares the screen (getDisplayMedia, or the video of a stream given) as
   * the sub-stream, on a PeerConnection of its own beside the camera's.
   * Resolves with the stream shared; the browser's "stop sharing" ends it.
   */
  async publishScreen({ stream } = {}) {
    this.assertJoined();
    let screen = stream;
    if (!screen) {
      try {
        screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
      } catch (e) {
        throw new TrtcdError(ErrorCode.DEVICE_ERROR, `screen capture: ${e.message}`);
      }
    }
    const track = screen.getVideoTracks()[0];
    if (!track) throw new TrtcdError(ErrorCode.INVALID_PARAMETER, 'the screen stream has no video');
    const pc = new RTCPeerConnection();
    // Video only: the screen share is the sub-stream alone (its audio, if
    // any, would make it a second camera publish).
    pc.addTransceiver(track, { direction: 'sendonly', streams: [screen] });
    this.watch(pc, 'screen');
    try {
      await this.negotiate(pc, 'publish', { video: ['sub'] });
    } catch (e) {
      pc.close();
      throw e;
    }
    this.screen?.pc.close();
    this.screen = { pc, stream: screen };
    track.addEventListener('ended', () => { if (this.screen?.stream === screen) this.stopScreen().catch(() => {}); });
    return screen;
  }

  /** Stops sharing the screen; the camera goes on. */
  async stopScreen() {
    const screen = this.screen;
    if (!screen) return;
    this.screen = null;
    screen.pc.close();
    for (const t of screen.stream.getTracks()) t.stop();
    this.emit('screen-stopped', {});
    if (this.joined) await this.request('unpublish', { screen: true });
  }

  /**
   * Chooses a member's big (main) or small video. Subscribed: switched at
   * the next keyframe without renegotiating; later subscriptions start so.
   */
  async setRemoteVideoStreamType(userId, type) {
    if (type !== 'big' && type !== 'small') throw new TrtcdError(ErrorCode.INVALID_PARAMETER, `stream type ${type}: want 'big' or 'small'`);
    this.videoTypes.set(userId, type);
    if (this.remote.has(userId)) await this.request('setVideo', { userId, video: type === 'small' ? 'small' : 'main' });
  }

  /**
   * Receives a member's camera and microphone, and its screen whenever it
   * shares one; resolves with the camera's MediaStream (also emitted as
   * remote-stream, type 'main'). The screen is a MediaStream of its own,
   * emitted as remote-stream with type 'sub' when the member shares and
   * remote-stream-removed when it stops.
   */
  async subscribe(userId) {
    this.assertJoined();
    const existing = this.remote.get(userId);
    if (existing) return existing.stream;
    const pc = new RTCPeerConnection();
    const videoTx = pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const screenTx = pc.addTransceiver('video', { direction: 'recvonly' }); // the second video section: the screen
    const stream = new MediaStream();
    const entry = { pc, stream, screen: new MediaStream(), videoTx, screenTx, screenShown: false };
    this.remote.set(userId, entry);
    pc.ontrack = e => {
      if (e.transceiver === screenTx) {
        entry.screen.addTrack(e.track);
        this.showScreen(userId);
        return;
      }
      stream.addTrack(e.track);
      this.emit('remote-stream', { userId, stream, type: 'main' });
    };
    this.watch(pc, 'subscribe', userId);
    const video = this.videoTypes.get(userId) === 'small' ? 'small' : 'main';
    try {
      await this.negotiate(pc, 'subscribe', { userId, video, sub: true });
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
    if (kind === 'video' && this.publisher?.small) this.publisher.small.enabled = !muted;
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
    const [sender, smallSender] = this.publisher.pc.getSenders().filter(s => s.track && s.track.kind === 'video');
    await sender.replaceTrack(fresh);
    if (smallSender) {
      const small = fresh.clone();
      await smallSender.replaceTrack(small);
      this.publisher.small.stop();
      this.publisher.small = small;
    }
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
  // with the application; a screen share ends), after a leave, a kick or a
  // lost connection.
  reset() {
    this.joined = false;
    clearInterval(this.heartbeat);
    for (const { pc } of this.remote.values()) pc.close();
    this.remote.clear();
    this.dropPublisher();
    if (this.screen) {
      this.screen.pc.close();
      for (const t of this.screen.stream.getTracks()) t.stop();
      this.screen = null;
      this.emit('screen-stopped', {});
    }
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
        if (!this.joined) break;
        if (this.remote.has(d.userId)) this.showScreen(d.userId);
        else this.subscribe(d.userId).catch(e => this.emit('error', e));
        break;
      case 'stream-remove': {
        if (this.members.has(d.userId)) this.members.get(d.userId)[d.kind] = false;
        const r = this.remote.get(d.userId);
        if (d.kind === 'sub' && r?.screenShown) {
          r.screenShown = false;
          this.emit('remote-stream-removed', { userId: d.userId, stream: r.screen, type: 'sub' });
        }
        break;
      }
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

  // showScreen tells the application of a member's screen once both are
  // true: the member shares (stream-add 'sub') and the subscription's screen
  // section has its track; they come in either order.
  showScreen(userId) {
    const r = this.remote.get(userId);
    if (!r || r.screenShown || !this.members.get(userId)?.sub || r.screen.getVideoTracks().length === 0) return;
    r.screenShown = true;
    this.emit('remote-stream', { userId, stream: r.screen, type: 'sub' });
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
