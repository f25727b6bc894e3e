// The test harness: WeChat's component simulator (miniprogram-simulate on
// jsdom) with real parts underneath. Components are loaded from their real
// .js/.wxml/.wxss/.json files; wx.request and wx.connectSocket reach a real
// trtcd (wx.js); <live-pusher>/<live-player> are ffmpeg stand-ins
// (stand-ins.js). e2e/miniprogram_test.go runs each scenario file with:
//
//   TRTCD_HTTP     trtcd's base URL (http://127.0.0.1:PORT), the mini program's trtcdHost
//   TRTCD_BACKEND  the test's app backend: GET /credentials mints userSigs and
//                  privateMapKeys; POST /shutdown stops trtcd, POST /network/cut
//                  and /network/restore break and mend the way to it
//   TRTCD_APP      the sdkAppId
//   NODE_PATH      where npm installed miniprogram-simulate, jsdom and ws
//
// A scenario is `harness.scenario(name, async () => {...})`: exit code 0 is
// a pass; on a failure it prints what it waited for and every event seen.
const path = require('path');
const { JSDOM } = require('jsdom');

// miniprogram-simulate needs the browser globals before it is required.
const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
global.window = dom.window;
global.document = dom.window.document;
global.navigator = dom.window.navigator;
// j-component dispatches taps and inputs as the global Event/CustomEvent:
// jsdom's, not Node's own.
global.Event = dom.window.Event;
global.CustomEvent = dom.window.CustomEvent;
const simulate = require('miniprogram-simulate');
const standIns = require('./stand-ins.js');
const wxParts = require('./wx.js');

standIns.register();
wxParts.install(global.wx);

const ROOT = path.resolve(__dirname, '..');
const env = {
  http: process.env.TRTCD_HTTP,
  backend: process.env.TRTCD_BACKEND,
  app: Number(process.env.TRTCD_APP)
};
const verbose = process.env.TRTCD_TEST_VERBOSE === '1';
const started = Date.now();
const trace = [];

function log() {
  const line = ((Date.now() - started) / 1000).toFixed(2) + 's ' + Array.prototype.join.call(arguments, ' ');
  trace.push(line);
  if (verbose) console.log(line);
}
standIns.settings.log = log;

// The mini program's one setting (miniprogram/config.js) points at the
// test's trtcd.
const config = require(path.join(ROOT, 'config.js'));
config.trtcdHost = env.http;

const loaded = {};

// load renders the component at componentPath (relative to miniprogram/,
// without extension) with props, attached to the document; the events
// named in `events` (default RoomEvent) are recorded in handle.events.
function load(componentPath, props, { events = ['RoomEvent'], name } = {}) {
  const file = path.join(ROOT, componentPath);
  if (!loaded[file]) loaded[file] = simulate.load(file, path.basename(file), { rootPath: ROOT });
  const comp = simulate.render(loaded[file], props);
  const handle = {
    name: name || props.userID || props.userId || componentPath,
    comp,
    instance: comp.instance,
    events: [],
    // clear forgets the events seen so far (a new phase of the scenario).
    clear() {
      this.events = [];
    },
    // seen: the events with this code (and matching pred) seen so far.
    seen(code, pred) {
      return this.events.filter((e) => e.code === code && (!pred || pred(e.detail)));
    },
    // waitEvent waits for an event with code (and pred) and returns it.
    waitEvent(code, what, pred, timeoutMs) {
      return waitFor(this.name + ': ' + what, () => this.seen(code, pred)[0], timeoutMs);
    }
  };
  events.forEach((eventName) => {
    comp.addEventListener(eventName, (e) => {
      const detail = e.detail || {};
      handle.events.push(Object.assign({ event: eventName }, detail));
      log(handle.name, eventName, JSON.stringify(detail));
    });
  });
  const parent = document.createElement('parent-wrapper');
  document.body.appendChild(parent);
  comp.attach(parent);
  return handle;
}

// waitFor polls predicate until it returns something truthy, which it
// returns; it fails after timeoutMs (default 20 s).
function waitFor(what, predicate, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  log('waiting for', what);
  return new Promise((resolve, reject) => {
    const tick = () => {
      let v;
      try {
        v = predicate();
      } catch (err) {
        reject(err);
        return;
      }
      if (v) {
        log('got', what);
        resolve(v);
      } else if (Date.now() > deadline) {
        reject(new Error('timed out after ' + timeoutMs / 1000 + ' s waiting for ' + what));
      } else {
        setTimeout(tick, 100);
      }
    };
    tick();
  });
}

async function backend(method, pathAndQuery) {
  const resp = await fetch(env.backend + pathAndQuery, { method });
  const text = await resp.text();
  if (!resp.ok) throw new Error(method + ' ' + pathAndQuery + ': HTTP ' + resp.status + ' ' + text);
  return text ? JSON.parse(text) : null;
}

// credentials asks the test's app backend for a user's userSig and, for a
// room, a privateMapKey: privateMapKey 'valid' (default), 'expired',
// 'forged' (signed with another key) or 'none'.
function credentials(userId, { roomId, privateMapKey = 'valid' } = {}) {
  const q = new URLSearchParams({ userId, roomId: String(roomId || ''), privateMapKey });
  return backend('GET', '/credentials?' + q);
}

// roomProps is webrtc-room's properties for userId in roomId.
async function roomProps(userId, roomId, extra = {}, privateMapKey = 'valid') {
  const c = await credentials(userId, { roomId, privateMapKey });
  return Object.assign({ roomID: roomId, userID: userId, userSig: c.userSig, sdkAppID: c.sdkAppId,
    privateMapKey: c.privateMapKey, template: '1v1bigsmall' }, extra);
}

// shutdownServer stops trtcd (the server going away, saying goodbye).
function shutdownServer() {
  return backend('POST', '/shutdown');
}

// cutNetwork and restoreNetwork break and mend the network between the
// components and trtcd (the test runs them through a relay): the server
// vanishes without a word, then comes back.
function cutNetwork() {
  return backend('POST', '/network/cut');
}

function restoreNetwork() {
  return backend('POST', '/network/restore');
}

// player finds the live stand-in player of `viewer` playing `user`.
function player(viewer, user) {
  return standIns.registry.players.find((p) => !p.closed && p.viewer === viewer && p.user === user);
}

function pusher(user) {
  return standIns.registry.pushers.find((p) => !p.closed && p.user === user);
}

// waitPlaying waits until viewer's player of user decodes more than
// minFrames frames and hears user's tone (±5 %), and returns what it saw.
async function waitPlaying(viewer, user, tone, { minFrames = 30, timeoutMs = 30000 } = {}) {
  let seen = null;
  await waitFor(viewer + ' decoding ' + user + "'s video (> " + minFrames + ' frames) and ' + tone + ' Hz tone', () => {
    const p = player(viewer, user);
    if (!p || p.frames <= minFrames || p.samples < 16000) return false;
    seen = { frames: p.frames, tone: p.tone() };
    return Math.abs(seen.tone.freq - tone) <= tone * 0.05;
  }, timeoutMs).catch((err) => {
    throw new Error(err.message + ' (last seen: ' + JSON.stringify(seen) + ')');
  });
  log(viewer, 'plays', user + ':', seen.frames, 'frames,', seen.tone.freq, 'Hz');
  return seen;
}

// scenario runs fn and exits: 0 when it resolves, 1 with the trace when it
// throws or runs past timeoutMs.
function scenario(name, fn, timeoutMs = 80000) {
  const finish = (code, err) => {
    standIns.stopAll();
    if (err) {
      console.error('FAIL ' + name + ': ' + (err.stack || err));
      console.error('--- trace ---\n' + trace.join('\n'));
    } else {
      console.log('PASS ' + name + ' (' + ((Date.now() - started) / 1000).toFixed(1) + ' s)');
    }
    process.exit(code);
  };
  const timer = setTimeout(() => finish(1, new Error('the scenario ran past ' + timeoutMs / 1000 + ' s')), timeoutMs);
  process.on('unhandledRejection', (err) => finish(1, err));
  process.on('uncaughtException', (err) => finish(1, err));
  process.on('SIGTERM', () => finish(1, new Error('stopped (SIGTERM): the Go test gave up on it')));
  Promise.resolve().then(fn).then(() => { clearTimeout(timer); finish(0); }, (err) => finish(1, err));
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

module.exports = {
  ROOT, env, simulate, load, waitFor, credentials, roomProps, shutdownServer, cutNetwork, restoreNetwork, player, pusher, waitPlaying,
  players: () => standIns.registry.players.filter((p) => !p.closed),
  pushers: () => standIns.registry.pushers.filter((p) => !p.closed),
  settings: standIns.settings, scenario, check, log
};
