// (c) TAvKit: a 1v1 call between the call page (alice, pages/call: the
// seed's demo, tavkit-component inside) and tavkit-component itself (bob,
// with the seed's listeners). start() tells each side who the other is
// through onUserInfoListener, and the names the callback gives are shown;
// both hear each other; bob's buttons call his listeners and act (mute:
// his tone falls silent at alice's player and alice's side is told; switch
// camera; hang up: alice's side gets onHandupListener too). A forged
// userSig reaches onErrorListener as the seed lists it: module avkit, code
// 70346; a missing userId as avkit 10002.
//
// What "a peer's mute" means: the seed's onMutedListener is the mute
// button's callback ("是否静自己的音": this user's own microphone), so bob's
// mute calls bob's onMutedListener(true). On the server it is the /ws
// `mute` event, which alice's side shows as bob's muted badge and reports
// through trtcd's onRemoteMutedListener('bob', true).
//
// Env: TAVKIT_FORGED_USERSIG, a userSig for mallory signed with another key.
const h = require('./harness.js');

const TAVKIT = 'components/tavkit-component/tavkit-component';
const CALL_PAGE = 'pages/call/call';
const ROOM_ID = 5101;

// recorder is a listener that writes down every call.
function recorder(infos) {
  const heard = [];
  const listener = {
    heard,
    onUserInfoListener(userIds, callback) {
      heard.push(['onUserInfoListener', userIds]);
      callback(userIds.map(id => infos[id] || { userId: id }));
    },
    onSwitchCameraListener(front) { heard.push(['onSwitchCameraListener', front]); },
    onMutedListener(muted) { heard.push(['onMutedListener', muted]); },
    onRemoteMutedListener(userId, muted) { heard.push(['onRemoteMutedListener', userId, muted]); },
    onHandupListener(who) { heard.push(['onHandupListener', who]); },
    onErrorListener(err) { heard.push(['onErrorListener', err]); },
  };
  return listener;
}

function calls(heard, name, pred) {
  return heard.filter(c => c[0] === name && (!pred || pred.apply(null, c.slice(1))));
}

// tap taps a button as a finger would: through the WXML's bindtap. The
// simulator dispatches it a moment later, with the global CustomEvent,
// which must be jsdom's (Node has its own).
global.CustomEvent = window.CustomEvent;
function tap(handle, selector) {
  const node = handle.comp.querySelector(selector);
  h.check(node, handle.name + ': no ' + selector + ' on the component');
  node.dispatchEvent('tap');
}

// badge is the muted badge on the peer's name in the tavkit-component at
// selector inside handle ('' when there is none).
function badge(handle, selector) {
  const tavkit = handle.comp.querySelector(selector);
  const node = tavkit && tavkit.querySelector('.peer .badge');
  return node ? node.dom.textContent : '';
}

// text is what the component shows, as a person would read it.
function text(handle) {
  return handle.comp.dom.textContent.replace(/\s+/g, ' ');
}

h.scenario('TAvKit: a 1v1 call on tavkit-component', async () => {
  h.settings.tones = { alice: 440, bob: 660 };

  // Errors first: nothing is started for them.
  const bad = recorder({});
  const carol = h.load(TAVKIT, {}, { events: [], name: 'carol' });
  carol.instance.start({ userSig: 'x', sdkAppId: h.env.app, roomId: ROOM_ID, listener: bad });
  const missing = calls(bad.heard, 'onErrorListener')[0];
  h.check(missing && missing[1].module === 'avkit' && missing[1].errorCode === 10002,
    'a start without userId gave ' + JSON.stringify(missing) + ', want avkit 10002');

  // A real privateMapKey with the forged userSig: only the userSig is wrong.
  const m = await h.credentials('mallory', { roomId: ROOM_ID });
  const mallory = h.load(TAVKIT, {}, { events: [], name: 'mallory' });
  mallory.instance.start({ userId: 'mallory', userSig: process.env.TAVKIT_FORGED_USERSIG, sdkAppId: h.env.app, roomId: ROOM_ID,
    privateMapKey: m.privateMapKey, listener: bad });
  const forged = await h.waitFor('the forged userSig to reach onErrorListener',
    () => calls(bad.heard, 'onErrorListener', e => e.errorCode !== 10002)[0]);
  h.check(forged[1].module === 'avkit' && forged[1].errorCode === 70346,
    'a forged userSig gave ' + JSON.stringify(forged[1]) + ', want module avkit, errorCode 70346');
  h.check(!h.pusher('mallory'), 'a forged userSig still pushed');
  h.check(text(mallory).indexOf(forged[1].errorMsg) >= 0, 'mallory does not see the error: ' + text(mallory));
  console.log('missing userId → avkit 10002; forged userSig → avkit 70346 (' + forged[1].errorMsg + ')');

  // alice opens the call page, as the seed's demo does.
  const a = await h.credentials('alice', { roomId: ROOM_ID });
  const alice = h.load(CALL_PAGE, {}, { events: [], name: 'alice' });
  alice.instance.onLoad({ roomId: String(ROOM_ID), userId: 'alice', userSig: a.userSig, sdkAppId: String(a.sdkAppId),
    privateMapKey: a.privateMapKey });
  await h.waitFor("alice's push", () => h.pusher('alice') && h.pusher('alice').pushing);

  // bob starts the component with his listener and no privateMapKey: the
  // seed's start() takes it only when the app uses them.
  const b = await h.credentials('bob', { roomId: ROOM_ID });
  const bobHears = recorder({ alice: { userId: 'alice', userName: 'Alice Liddell', avatarUrl: 'https://example.com/alice.png' } });
  const bob = h.load(TAVKIT, {}, { events: [], name: 'bob' });
  bob.instance.start({ userId: 'bob', userSig: b.userSig, sdkAppId: b.sdkAppId, roomId: ROOM_ID,
    listener: bobHears });

  await h.waitFor("bob's onUserInfoListener(['alice'])", () => calls(bobHears.heard, 'onUserInfoListener', ids => ids.join() === 'alice')[0]
    || calls(bobHears.heard, 'onErrorListener')[0]);
  h.check(calls(bobHears.heard, 'onErrorListener').length === 0, "bob's start failed: " + JSON.stringify(calls(bobHears.heard, 'onErrorListener')));
  await h.waitFor("alice's onUserInfoListener(['bob'])", () => calls(alice.instance.heard, 'onUserInfoListener', ids => ids.join() === 'bob')[0]);
  await h.waitFor("alice's name on bob's call", () => text(bob).indexOf('Alice Liddell') >= 0);
  const shown = bob.comp.querySelector('.peer .avatar');
  h.check(shown && shown.dom.getAttribute('src') === 'https://example.com/alice.png' || bob.instance.data.peers[0].avatarUrl === 'https://example.com/alice.png',
    "bob does not show alice's avatar");
  h.check(calls(bobHears.heard, 'onUserInfoListener').length === 1, 'bob was asked about alice more than once');

  const [aliceSees, bobSees] = await Promise.all([h.waitPlaying('alice', 'bob', 660), h.waitPlaying('bob', 'alice', 440)]);
  console.log('in the call: alice plays bob (' + aliceSees.frames + ' frames, ' + aliceSees.tone.freq + ' Hz), bob plays alice ('
    + bobSees.frames + ' frames, ' + bobSees.tone.freq + ' Hz)');

  // bob mutes: his listener, his tone at alice's side, alice's side told.
  tap(bob, '#mute');
  await h.waitFor("bob's onMutedListener(true)", () => calls(bobHears.heard, 'onMutedListener', m => m === true)[0]);
  h.check(h.pusher('bob').comp.data.muted === true, "bob's pusher is not muted");
  await h.waitFor("bob's tone to fall silent at alice's player", () => h.player('alice', 'bob').tone().freq === 0);
  await h.waitFor("alice's onRemoteMutedListener('bob', true)",
    () => calls(alice.instance.heard, 'onRemoteMutedListener', (id, m) => id === 'bob' && m === true)[0]);
  await h.waitFor("bob's muted badge on alice's call", () => badge(alice, '#tAvKitComponent') === 'Muted');
  tap(bob, '#mute');
  await h.waitFor("bob's onMutedListener(false)", () => calls(bobHears.heard, 'onMutedListener', m => m === false)[0]);
  await h.waitPlaying('alice', 'bob', 660, { minFrames: 0 });
  await h.waitFor("bob's muted badge to go", () => badge(alice, '#tAvKitComponent') === '');
  await h.waitFor("alice's onRemoteMutedListener('bob', false)",
    () => calls(alice.instance.heard, 'onRemoteMutedListener', (id, m) => id === 'bob' && m === false)[0]);
  console.log("bob's mute: his onMutedListener(true/false), his tone silent then back at alice's player, alice told through onRemoteMutedListener");

  tap(bob, '#switch-camera');
  await h.waitFor("bob's onSwitchCameraListener(false)", () => calls(bobHears.heard, 'onSwitchCameraListener', f => f === false)[0]);
  h.check(h.pusher('bob').camera === 'back', "switch camera did not reach bob's pusher");

  // bob hangs up: his listener, and the call ends on alice's side too.
  tap(bob, '#handup');
  const own = await h.waitFor("bob's onHandupListener", () => calls(bobHears.heard, 'onHandupListener')[0]);
  h.check(own && own[1].remote === false && own[1].userId === 'bob', "bob's hang-up gave " + JSON.stringify(own));
  await h.waitFor("bob's pusher to stop", () => !h.pusher('bob'));
  const theirs = await h.waitFor("alice's onHandupListener for bob's hang-up", () => calls(alice.instance.heard, 'onHandupListener')[0]);
  h.check(theirs[1].remote === true && theirs[1].userId === 'bob', "alice's side heard " + JSON.stringify(theirs));
  await h.waitFor("alice's page to say the call ended", () => alice.instance.data.ended && /bob hung up/.test(text(alice)));
  await h.waitFor("alice's pusher to stop", () => !h.pusher('alice'));
  h.check(calls(alice.instance.heard, 'onErrorListener').length === 0 && calls(bobHears.heard, 'onErrorListener').length === 0,
    'errors in a good call: ' + JSON.stringify(calls(alice.instance.heard, 'onErrorListener').concat(calls(bobHears.heard, 'onErrorListener'))));
  console.log("bob's hang-up: his onHandupListener({remote: false}); alice's onHandupListener({userId: 'bob', remote: true})");
}, 85000);
