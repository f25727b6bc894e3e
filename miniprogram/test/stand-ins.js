// Stand-ins for WeChat's native <live-pusher> and <live-player>, registered
// under the built-in tags' own names so the component's real WXML renders
// them. They do what the native tags do with real media: a pusher whose
// url is set pushes a test pattern and a tone over RTMP with ffmpeg; a
// player whose src is set pulls it (RTMP or HTTP-FLV) with ffmpeg, counts
// the decoded video frames and measures the tone. Both raise the native
// statechange codes from what ffmpeg does.
const { spawn } = require('child_process');
const jComponent = require('j-component');
const { dominantFrequency } = require('./tone.js');

// Native tags reconnect a few times (1102 / 2103) before giving up
// (-1307 / -2301).
const RECONNECTS = 3;
const RECONNECT_DELAY_MS = 1000;
const PCM_RATE = 16000;

const registry = { pushers: [], players: [] };
// options the scenario sets: the tone each user's pusher sends, and
// devices that fail (camera/mic: false → -1301/-1302, permission: false →
// binderror 10001 (the camera's), micPermission: false → binderror 10002
// (the microphone's), as the native tag raises them).
const settings = { tones: {}, defaultTone: 440, devices: {}, log: () => {} };

// streamOf reads trtcd's stream name {sdkAppId}_{roomId}_{userId}_main and
// the viewer (userid=) from a push or play URL.
function streamOf(url) {
  const u = new URL(url);
  const m = /\/live\/\d+_[^_/]+_(.+)_main(\.flv)?$/.exec(u.pathname);
  return { user: m ? decodeURIComponent(m[1]) : '', viewer: u.searchParams.get('userid') || '' };
}

// lines calls fn for each complete line a stream writes.
function lines(stream, fn) {
  let rest = '';
  stream.on('data', (chunk) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop();
    parts.forEach(fn);
  });
}

// StandIn is what both tags share: one ffmpeg at a time, reconnects, the
// codes raised.
class StandIn {
  constructor(comp, kind) {
    this.comp = comp;
    this.kind = kind;
    this.url = '';
    this.proc = null;
    this.timer = null;
    this.reconnects = 0;
    this.codes = [];
    this.stderr = [];
    this.closed = false;
  }

  emit(event, detail) {
    if (event === 'statechange') this.codes.push(detail.code);
    settings.log(this.kind, this.describe(), event, JSON.stringify(detail));
    this.comp.triggerEvent(event, detail);
  }

  // setUrl starts over with a new url ('' stops).
  setUrl(url, autostart) {
    if (url === this.url) return;
    this.halt();
    this.url = url;
    this.reconnects = 0;
    if (url && autostart) this.launch();
  }

  run(args, stdio) {
    const proc = spawn('ffmpeg', args, { stdio });
    this.proc = proc;
    if (proc.stdin) proc.stdin.on('error', () => {}); // ffmpeg may be gone when a command is written
    lines(proc.stderr, (l) => {
      this.stderr.push(l);
      if (this.stderr.length > 20) this.stderr.shift();
    });
    proc.on('exit', (code, signal) => {
      if (this.proc !== proc) return; // halted on purpose
      this.proc = null;
      this.ended(code, signal);
    });
    return proc;
  }

  // ended: ffmpeg stopped by itself (the server refused or went away).
  ended(code) {
    settings.log(this.kind, this.describe(), 'ffmpeg exited', code, this.stderr.slice(-3).join(' | '));
    if (this.reconnects < RECONNECTS) {
      this.reconnects++;
      this.emit('statechange', this.reconnecting());
      this.timer = setTimeout(() => this.launch(), RECONNECT_DELAY_MS);
    } else {
      this.emit('statechange', this.gaveUp());
    }
  }

  halt() {
    clearTimeout(this.timer);
    const proc = this.proc;
    this.proc = null;
    if (proc) proc.kill('SIGKILL');
  }

  // pause holds ffmpeg where it is (no media flows, the connection stays),
  // as the native tags' pause() does.
  pause() {
    this.paused = true;
    if (this.proc) this.proc.kill('SIGSTOP');
  }

  resume() {
    this.paused = false;
    if (this.proc) this.proc.kill('SIGCONT');
  }

  close() {
    this.halt();
    this.closed = true;
  }
}

class Pusher extends StandIn {
  constructor(comp) {
    super(comp, 'live-pusher');
    this.pushing = false;
    this.camera = 'front';
    registry.pushers.push(this);
  }

  get user() { return this.url ? streamOf(this.url).user : ''; }
  describe() { return this.user; }
  reconnecting() { return { code: 1102, message: 'network disconnected, reconnecting' }; }
  gaveUp() { return { code: -1307, message: 'network disconnected; reconnecting failed, push stopped' }; }

  launch() {
    const p = this.comp.data;
    const dev = settings.devices;
    if (dev.permission === false) {
      this.emit('error', { errCode: 10001, errMsg: 'no permission to use the camera' });
      return;
    }
    if (dev.micPermission === false) {
      this.emit('error', { errCode: 10002, errMsg: 'no permission to use the microphone' });
      return;
    }
    if (dev.camera === false && p.enableCamera) return this.emit('statechange', { code: -1301, message: 'opening the camera failed' });
    if (dev.mic === false) return this.emit('statechange', { code: -1302, message: 'opening the microphone failed' });
    const tone = settings.tones[this.user] || settings.defaultTone;
    const size = p.aspect === '9:16' ? '180x320' : '240x320';
    // A push URL with pureaudiomode=1 or 2 is audio only: the native tag
    // then sends no video whatever enable-camera says.
    const withVideo = p.enableCamera && !/[?&]pureaudiomode=[12](&|$)/.test(this.url);
    const video = withVideo ? ['-f', 'lavfi', '-i', 'testsrc=size=' + size + ':rate=15'] : [];
    // No -nostdin: `muted` is applied while pushing by ffmpeg's interactive
    // command to the volume filter (setMuted), as the native tag mutes
    // without reconnecting.
    const args = ['-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-re']
      .concat(video, ['-f', 'lavfi', '-i', 'sine=frequency=' + tone + ':sample_rate=48000', '-af', 'volume@mute=' + (p.muted ? 0 : 1)])
      .concat(withVideo ? ['-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
        '-profile:v', 'baseline', '-g', '15', '-b:v', (p.maxBitrate || 800) + 'k'] : [])
      .concat(['-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-f', 'flv', this.url]);
    const proc = this.run(args, ['pipe', 'pipe', 'pipe']);
    this.muted = p.muted;
    // ffmpeg writes progress only once the server accepted the publish and
    // media flows: the native pusher's 1001 (connected) and 1002 (pushing).
    lines(proc.stdout, (l) => {
      if (l.startsWith('progress=') && !this.pushing && this.proc === proc) {
        this.pushing = true;
        this.reconnects = 0;
        this.emit('statechange', { code: 1001, message: 'connected to the server' });
        this.emit('statechange', { code: 1002, message: 'pushing' });
      }
    });
  }

  ended(code) {
    this.pushing = false;
    super.ended(code);
  }

  halt() {
    this.pushing = false;
    super.halt();
  }

  setMuted(muted) {
    if (!this.proc || muted === this.muted) return;
    this.muted = muted;
    this.proc.stdin.write('cvolume@mute -1 volume ' + (muted ? 0 : 1) + '\n');
  }

  switchCamera() { this.camera = this.camera === 'front' ? 'back' : 'front'; }
}

class Player extends StandIn {
  constructor(comp) {
    super(comp, 'live-player');
    this.frames = 0;
    this.samples = 0;
    this.pcm = new Int16Array(PCM_RATE * 2); // the last two seconds
    this.pcmEnd = 0;
    registry.players.push(this);
  }

  get user() { return this.url ? streamOf(this.url).user : ''; }
  get viewer() { return this.url ? streamOf(this.url).viewer : ''; }
  describe() { return this.viewer + '←' + this.user; }
  reconnecting() { return { code: 2103, message: 'network disconnected, reconnecting' }; }
  gaveUp() { return { code: -2301, message: 'network disconnected; reconnecting failed, play stopped' }; }

  launch() {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:3',
      '-analyzeduration', '1000000', '-probesize', '500000', '-i', this.url,
      '-map', '0:v?', '-fps_mode', 'passthrough', '-f', 'null', '-',
      '-map', '0:a?', '-ac', '1', '-ar', String(PCM_RATE), '-f', 's16le', 'pipe:1'];
    const proc = this.run(args, ['ignore', 'pipe', 'pipe', 'pipe']);
    // The native tag raises its codes from the native layer, never inside
    // the page's setData that rendered it: a component that answers 2007
    // with a setData of its own must not re-enter its rendering.
    process.nextTick(() => {
      if (this.proc === proc) this.emit('statechange', { code: 2007, message: 'loading' });
    });
    let started = false;
    let framesBefore = this.frames;
    let odd = null;
    lines(proc.stdio[3], (l) => {
      if (this.proc !== proc) return;
      if (l.startsWith('frame=')) this.frames = framesBefore + (parseInt(l.slice(6), 10) || 0);
      if (!l.startsWith('progress=')) return;
      if (!started) {
        started = true;
        this.emit('statechange', { code: 2001, message: 'connected to the server' });
        this.emit('statechange', { code: 2002, message: 'pulling' });
      }
      if (this.frames > framesBefore && !this.playing) {
        this.playing = true;
        this.reconnects = 0;
        this.emit('statechange', { code: 2004, message: 'playing' });
      }
    });
    proc.stdout.on('data', (chunk) => {
      if (odd) chunk = Buffer.concat([odd, chunk]);
      const n = chunk.length >> 1;
      odd = chunk.length & 1 ? chunk.subarray(chunk.length - 1) : null;
      for (let i = 0; i < n; i++) {
        this.pcm[this.pcmEnd] = chunk.readInt16LE(i * 2);
        this.pcmEnd = (this.pcmEnd + 1) % this.pcm.length;
      }
      this.samples += n;
    });
  }

  ended(code) {
    this.playing = false;
    super.ended(code);
  }

  halt() {
    this.playing = false;
    super.halt();
  }

  // tone measures the last second of audio: {freq, power, rms}.
  tone() {
    const n = Math.min(PCM_RATE, this.samples);
    const window = new Array(n);
    for (let i = 0; i < n; i++) {
      window[i] = this.pcm[(this.pcmEnd - n + i + this.pcm.length) % this.pcm.length];
    }
    return dominantFrequency(window, PCM_RATE);
  }
}

// register replaces the built-in tags miniprogram-simulate registers (bare
// <slot/> nodes without attributes) with the stand-ins; call it after
// requiring miniprogram-simulate and before loading a component.
function register() {
  const common = {
    mode: { type: String, value: 'live' },
    muted: { type: Boolean, value: false },
    debug: { type: Boolean, value: false },
    backgroundMute: { type: Boolean, value: false }
  };
  jComponent.register({
    id: 'live-pusher',
    tagName: 'wx-live-pusher',
    template: '<slot/>',
    properties: Object.assign({}, common, {
      url: { type: String, value: '' },
      autopush: { type: Boolean, value: false },
      enableCamera: { type: Boolean, value: true },
      aspect: { type: String, value: '9:16' },
      minBitrate: { type: Number, value: 200 },
      maxBitrate: { type: Number, value: 1000 },
      beauty: { type: Number, value: 0 },
      whiteness: { type: Number, value: 0 },
      waitingImage: { type: String, value: '' }
    }),
    observers: {
      url(url) { if (this.standIn) this.standIn.setUrl(url, this.data.autopush); },
      muted(muted) { if (this.standIn) this.standIn.setMuted(muted); }
    },
    lifetimes: {
      attached() {
        this.standIn = new Pusher(this);
        this.standIn.setUrl(this.data.url, this.data.autopush);
      },
      detached() { this.standIn.close(); }
    },
    methods: {
      start() { if (this.standIn.url && !this.standIn.proc) this.standIn.launch(); },
      stop() { this.standIn.halt(); },
      pause() { this.standIn.pause(); },
      resume() { this.standIn.resume(); },
      switchCamera() { this.standIn.switchCamera(); }
    }
  });
  jComponent.register({
    id: 'live-player',
    tagName: 'wx-live-player',
    template: '<slot/>',
    properties: Object.assign({}, common, {
      src: { type: String, value: '' },
      autoplay: { type: Boolean, value: false },
      minCache: { type: Number, value: 1 },
      maxCache: { type: Number, value: 3 },
      objectFit: { type: String, value: 'contain' }
    }),
    observers: {
      src(src) { if (this.standIn) this.standIn.setUrl(src, this.data.autoplay); }
    },
    lifetimes: {
      attached() {
        this.standIn = new Player(this);
        this.standIn.setUrl(this.data.src, this.data.autoplay);
      },
      detached() { this.standIn.close(); }
    },
    methods: {
      play() { if (this.standIn.url && !this.standIn.proc) this.standIn.launch(); },
      stop() { this.standIn.halt(); },
      pause() { this.standIn.pause(); },
      resume() { this.standIn.resume(); },
      mute() {}
    }
  });
}

// stopAll ends every ffmpeg (the scenario is over).
function stopAll() {
  registry.pushers.concat(registry.players).forEach((s) => s.close());
}

module.exports = { register, registry, settings, stopAll };
