// webrtc-room's properties the 1v1 scenario leaves out, and ERROR_JOIN_ROOM:
//   - pusherBackgroundImg fills the own place until the push starts;
//     loadingImg a member's place while its player loads (drawn before
//     PLAYER_LOADING is raised), and neither is left once PLAYER_PLAY comes;
//   - enableCamera off and on while pushing: the pusher's enable-camera
//     follows, and the other member's list shows the camera off (videoMuted,
//     the server's `mute` event) and back on;
//   - pureAudioPushMod: 1 puts pureaudiomode=1 on the push URL, and the
//     other member hears the tone but decodes no video; its place shows
//     playerBackgroundImg, as there is no picture to show;
//   - the /ws follow failing (the socket cannot reach trtcd while the room
//     signature could) → ERROR_JOIN_ROOM, and no push.
const net = require('net');
const jComponent = require('j-component');
const h = require('./harness.js');
const { ROOM } = require('../constant.js');

const COMPONENT = 'components/webrtc-room/webrtc-room';
const SELF_IMG = '/images/self.png';
const PEER_IMG = '/images/peer.png';
const LOADING_IMG = '/images/loading.png';

// miniprogram-simulate's built-in <image> keeps no attributes; this one
// keeps src, so a test can read which image a place shows.
jComponent.register({ id: 'image', tagName: 'wx-image', template: '<slot/>',
  properties: { src: { type: String, value: '' }, mode: { type: String, value: 'scaleToFill' } } });

// shown is the src of the image with class cls in the component, or null
// when there is none.
function shown(c, cls) {
  const img = c.comp.querySelector('.' + cls);
  return img ? img.data.src : null;
}

// snapshotOn records, when c raises code for user, which images its places
// show at that moment.
function snapshotOn(c, code, user) {
  const snaps = [];
  c.comp.addEventListener('RoomEvent', (e) => {
    if (e.detail.code === code && e.detail.detail.userID === user) {
      snaps.push({ loading: shown(c, 'player-loading'), waiting: shown(c, 'player-waiting') });
    }
  });
  return snaps;
}

function closedPort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

// memberOf finds user in a SUCC_MEMBERS_LIST's detail.
function memberOf(list, user) {
  return list.members.find((m) => m.userID === user);
}

h.scenario('webrtc-room: images, enableCamera, pureAudioPushMod, ERROR_JOIN_ROOM', async () => {
  h.settings.tones = { alice: 440, bob: 660, carol: 550, dan: 770 };

  // The images, in a 1v1bigsmall room.
  const alice = h.load(COMPONENT, await h.roomProps('alice', 8500, { pusherBackgroundImg: SELF_IMG,
    playerBackgroundImg: PEER_IMG, loadingImg: LOADING_IMG }));
  h.check(shown(alice, 'pusher-waiting') === SELF_IMG, 'before start, the own place shows ' + shown(alice, 'pusher-waiting'));
  const loading = snapshotOn(alice, ROOM.PLAYER_LOADING, 'bob');
  const playing = snapshotOn(alice, ROOM.PLAYER_PLAY, 'bob');
  alice.instance.start();
  await alice.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  h.check(shown(alice, 'pusher-waiting') === null, 'pushing, the own place still shows ' + shown(alice, 'pusher-waiting'));
  console.log('pusherBackgroundImg: ' + SELF_IMG + ' in the own place before start, gone once pushing');

  const bob = h.load(COMPONENT, await h.roomProps('bob', 8500));
  bob.instance.start();
  await h.waitPlaying('alice', 'bob', 660, { minFrames: 10 });
  await alice.waitEvent(ROOM.PLAYER_PLAY, "bob's picture", (d) => d.userID === 'bob');
  h.check(loading.length > 0 && loading[0].loading === LOADING_IMG,
    "at PLAYER_LOADING, bob's place shows " + JSON.stringify(loading[0]) + ', want loadingImg ' + LOADING_IMG);
  h.check(playing.length > 0 && playing[0].loading === null && playing[0].waiting === null,
    "at PLAYER_PLAY, bob's place still shows " + JSON.stringify(playing[0]));
  console.log("loadingImg: " + LOADING_IMG + " in bob's place at PLAYER_LOADING, no image over his picture at PLAYER_PLAY");

  // enableCamera off and on while pushing.
  await bob.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'alice in the list', (d) => memberOf(d, 'alice'));
  bob.clear();
  alice.comp.setData({ enableCamera: false });
  h.check(h.pusher('alice').comp.data.enableCamera === false, "alice's pusher did not get enable-camera false");
  await bob.waitEvent(ROOM.SUCC_MEMBERS_LIST, "alice's camera off", (d) => memberOf(d, 'alice') && memberOf(d, 'alice').videoMuted === true);
  bob.clear();
  alice.comp.setData({ enableCamera: true });
  h.check(h.pusher('alice').comp.data.enableCamera === true, "alice's pusher did not get enable-camera true");
  await bob.waitEvent(ROOM.SUCC_MEMBERS_LIST, "alice's camera on", (d) => memberOf(d, 'alice') && memberOf(d, 'alice').videoMuted === false);
  h.check(h.pusher('alice').pushing, 'toggling the camera stopped the push');
  console.log("enableCamera: alice's pusher followed false and true, and bob's member list showed her camera off, then on");
  alice.instance.stop();
  bob.instance.stop();

  // pureAudioPushMod: carol pushes audio only; dan hears her, sees no video,
  // and his place for her shows playerBackgroundImg.
  const carol = h.load(COMPONENT, await h.roomProps('carol', 8600, { pureAudioPushMod: 1 }));
  carol.instance.start();
  await carol.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  h.check(/[?&]pureaudiomode=1(&|$)/.test(h.pusher('carol').url), "carol's push URL: " + h.pusher('carol').url);
  const dan = h.load(COMPONENT, await h.roomProps('dan', 8600, { playerBackgroundImg: PEER_IMG }));
  dan.instance.start();
  await h.waitFor("dan hearing carol's 550 Hz tone for two seconds", () => {
    const p = h.player('dan', 'carol');
    return p && p.samples > 32000 && Math.abs(p.tone().freq - 550) <= 550 * 0.05;
  }, 30000);
  const heard = h.player('dan', 'carol');
  h.check(heard.frames === 0, 'dan decoded ' + heard.frames + ' video frames of an audio-only push');
  h.check(shown(dan, 'player-waiting') === PEER_IMG, "dan's place for carol shows " + shown(dan, 'player-waiting'));
  console.log('pureAudioPushMod 1: pureaudiomode=1 on the push URL; dan hears ' + heard.tone().freq + ' Hz, decodes ' +
    heard.frames + " video frames, and carol's place shows playerBackgroundImg " + PEER_IMG);
  carol.instance.stop();
  dan.instance.stop();

  // The room signature works but the /ws follow cannot be done: the
  // socket's way to trtcd is blocked (a port nothing listens on).
  const port = await closedPort();
  const connectSocket = wx.connectSocket;
  wx.connectSocket = (options) => connectSocket(Object.assign({}, options, { url: 'ws://127.0.0.1:' + port + '/ws' }));
  try {
    const eve = h.load(COMPONENT, await h.roomProps('eve', 8700));
    eve.instance.start();
    const e = await eve.waitEvent(ROOM.ERROR_JOIN_ROOM, 'ERROR_JOIN_ROOM');
    h.check(e.tag === 'error' && e.detail.errCode === -1, 'ERROR_JOIN_ROOM came as ' + JSON.stringify(e));
    h.check(!eve.instance.data.pushURL && !h.pusher('eve') && eve.seen(ROOM.SUCC_JOIN_ROOM).length === 0, 'eve pushes without a follow');
    console.log('the follow unreachable: ERROR_JOIN_ROOM (' + e.detail.errCode + ', ' + e.detail.errMsg + '), no push');
  } finally {
    wx.connectSocket = connectSocket;
  }
});
