// TAvKit's onErrorListener: each failure a test can cause reaches it with
// the seed's module and code (seed 004's tables), on an app that requires
// a privateMapKey, through a network the test can cut:
//   avkit 10003 / 10004 / 10005  start() without sdkAppId / userSig / roomId
//   avkit 80 / 86 / 87           the room signature refused: no, an expired,
//                                a forged privateMapKey
//   trtc -1301 / -1302           the camera / the microphone fails to open
//   trtc 10001 / 10002           no permission for the camera / microphone
//                                (the pusher's binderror)
//   http 10000                   the room-signature request gets no answer
//                                (trtcdHost points at a closed port)
//   trtc -1019                   a third person in a 1v1 call
//   trtc -1307                   the network to trtcd cut during a call
// avkit 82 is not here: start() always sends a well-formed jsonvideoapp
// body with a numeric room, so nothing the page can pass makes trtcd
// answer 82 (a malformed body is restapi's test). Each error's errorCode
// must be a number, as the component documents.
const path = require('path');
const h = require('./harness.js');

const TAVKIT = 'components/tavkit-component/tavkit-component';
const config = require(path.join(h.ROOT, 'config.js'));

// listener records the errors and who the call is with.
function listener() {
  return {
    errors: [],
    peers: [],
    onErrorListener(err) { this.errors.push(err); },
    onUserInfoListener(userIds, callback) { this.peers.push.apply(this.peers, userIds); callback([]); },
  };
}

// startCall starts tavkit-component for userId in roomId with the test
// backend's credentials (privateMapKey 'valid', 'expired', 'forged' or
// 'none'); omit names start() options to leave out.
async function startCall(userId, roomId, { privateMapKey = 'valid', omit = [] } = {}) {
  const c = await h.credentials(userId, { roomId, privateMapKey });
  const l = listener();
  const handle = h.load(TAVKIT, {}, { events: [], name: userId });
  const options = { userId, userSig: c.userSig, sdkAppId: c.sdkAppId, roomId, privateMapKey: c.privateMapKey, listener: l };
  omit.forEach((k) => delete options[k]);
  handle.instance.start(options);
  return { handle, listener: l };
}

// expectError waits for the error {module, errorCode} at call's
// onErrorListener and checks it came first and exactly.
async function expectError(call, what, want) {
  const err = await h.waitFor(what + ' to reach onErrorListener', () => call.listener.errors[0]);
  h.check(err.module === want.module && err.errorCode === want.errorCode,
    what + ' gave ' + JSON.stringify(err) + ', want module ' + want.module + ', errorCode ' + want.errorCode);
  h.check(typeof err.errorCode === 'number', what + ': errorCode is a ' + typeof err.errorCode);
  console.log(what + ' → ' + err.module + ' ' + err.errorCode + ' (' + err.errorMsg + ')');
  return err;
}

// refused: a start that fails before any push.
async function refused(userId, roomId, what, want, opts) {
  const call = await startCall(userId, roomId, opts);
  await expectError(call, what, want);
  h.check(!h.pusher(userId), userId + ' pushes after ' + what);
  call.handle.instance.stop();
}

// failingDevice: the push fails on the phone's side (the stand-in's switches).
async function failingDevice(userId, devices, what, want) {
  h.settings.devices = devices;
  try {
    const call = await startCall(userId, 5320);
    await expectError(call, what, want);
    h.check(!(h.pusher(userId) && h.pusher(userId).pushing), userId + ' pushes after ' + what);
    call.handle.instance.stop();
  } finally {
    h.settings.devices = {};
  }
}

h.scenario('TAvKit: onErrorListener codes', async () => {
  await refused('nosdk', 5300, 'start() without sdkAppId', { module: 'avkit', errorCode: 10003 }, { omit: ['sdkAppId'] });
  await refused('nosig', 5300, 'start() without userSig', { module: 'avkit', errorCode: 10004 }, { omit: ['userSig'] });
  await refused('noroom', 5300, 'start() without roomId', { module: 'avkit', errorCode: 10005 }, { omit: ['roomId'] });

  await refused('nokey', 5310, 'no privateMapKey on an app that requires one', { module: 'avkit', errorCode: 80 }, { privateMapKey: 'none' });
  await refused('late', 5310, 'an expired privateMapKey', { module: 'avkit', errorCode: 86 }, { privateMapKey: 'expired' });
  await refused('mallory', 5310, 'a forged privateMapKey', { module: 'avkit', errorCode: 87 }, { privateMapKey: 'forged' });

  await failingDevice('cam', { camera: false }, 'a camera that does not open', { module: 'trtc', errorCode: -1301 });
  await failingDevice('mic', { mic: false }, 'a microphone that does not open', { module: 'trtc', errorCode: -1302 });
  await failingDevice('camperm', { permission: false }, 'no camera permission', { module: 'trtc', errorCode: 10001 });
  await failingDevice('micperm', { micPermission: false }, 'no microphone permission', { module: 'trtc', errorCode: 10002 });

  // Nothing listens on port 1: the request fails without an answer.
  const host = config.trtcdHost;
  config.trtcdHost = 'http://127.0.0.1:1';
  try {
    await refused('offline', 5330, 'a room signature request with no answer', { module: 'http', errorCode: 10000 });
  } finally {
    config.trtcdHost = host;
  }

  // alice and bob are in a 1v1 call; carol is a third.
  const alice = await startCall('alice', 5340);
  const bob = await startCall('bob', 5340);
  await h.waitFor('alice and bob pushing, each told of the other', () =>
    h.pusher('alice') && h.pusher('alice').pushing && h.pusher('bob') && h.pusher('bob').pushing
    && alice.listener.peers.indexOf('bob') >= 0 && bob.listener.peers.indexOf('alice') >= 0);
  const carol = await startCall('carol', 5340);
  await expectError(carol, 'a third person in a 1v1 call', { module: 'trtc', errorCode: -1019 });
  h.check(!h.pusher('carol'), 'carol pushes into a full call');
  h.check(alice.listener.errors.length === 0 && bob.listener.errors.length === 0,
    'errors in the call: ' + JSON.stringify(alice.listener.errors.concat(bob.listener.errors)));

  alice.handle.instance.stop();
  bob.handle.instance.stop();

  // The network goes while dave waits alone in his call: his pusher
  // reconnects, then gives up (-1307). Alone, because with a peer the
  // server may see the peer's push end first and tell dave (member-quit)
  // before his own connections break: that ends the call as a hang-up.
  const dave = await startCall('dave', 5350);
  await h.waitFor("dave's push", () => h.pusher('dave') && h.pusher('dave').pushing);
  await h.cutNetwork();
  const lost = await h.waitFor("dave's push disconnect to reach onErrorListener",
    () => dave.listener.errors.find((e) => e.errorCode === -1307));
  h.check(lost.module === 'trtc', '-1307 came as ' + JSON.stringify(lost));
  h.check(dave.listener.errors[0] === lost, 'before -1307 dave got ' + JSON.stringify(dave.listener.errors));
  console.log('the network cut: dave → trtc -1307 (' + lost.errorMsg + ')');
});
