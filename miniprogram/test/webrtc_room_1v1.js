// (a) Two webrtc-room components in a 1v1bigsmall room see each other:
// each one's player decodes the other's video and hears the other's tone
// (alice plays over RTMP, bob over HTTP-FLV), the member lists and their
// changes arrive as SUCC_MEMBERS_LIST, the properties reach the native tags,
// and a stop() reaches the other side even while its /ws is reconnecting.
const h = require('./harness.js');
const config = require('../config.js');
const { ROOM } = require('../constant.js');

const COMPONENT = 'components/webrtc-room/webrtc-room';
const ROOM_ID = 8100;

h.scenario('webrtc-room: two components in a 1v1bigsmall room', async () => {
  h.settings.tones = { alice: 440, bob: 660 };

  config.playProtocol = 'rtmp';
  const alice = h.load(COMPONENT, await h.roomProps('alice', ROOM_ID, { recordId: 42,
    smallViewLeft: '2vw', smallViewTop: '3vw', smallViewWidth: '25vw', smallViewHeight: '35vw' }));
  alice.instance.start();
  await alice.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'the first member list, empty', (d) => d.members.length === 0);
  await alice.waitEvent(ROOM.SUCC_PUSH, 'pushing');
  await alice.waitEvent(ROOM.SUCC_JOIN_ROOM, 'in the room');
  h.check(alice.seen(ROOM.PUSHER_LOADING).length && alice.seen(ROOM.PUSHER_PLAY).length, 'alice saw no PUSHER_LOADING or PUSHER_PLAY');

  config.playProtocol = 'flv';
  const bob = h.load(COMPONENT, await h.roomProps('bob', ROOM_ID, { aspect: '9:16', beauty: 7, whiteness: 3,
    minBitrate: 300, maxBitrate: 900, debug: true }));
  bob.instance.start();
  await bob.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'the first member list, with alice',
    (d) => d.members.length === 1 && d.members[0].userID === 'alice');
  await alice.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'bob joining', (d) => d.joined.indexOf('bob') >= 0);

  const [aliceSees, bobSees] = await Promise.all([h.waitPlaying('alice', 'bob', 660), h.waitPlaying('bob', 'alice', 440)]);
  console.log('alice plays bob over RTMP: ' + aliceSees.frames + ' frames, ' + aliceSees.tone.freq + ' Hz');
  console.log('bob plays alice over HTTP-FLV: ' + bobSees.frames + ' frames, ' + bobSees.tone.freq + ' Hz');
  h.check(/^rtmp:\/\//.test(h.player('alice', 'bob').url), 'alice plays bob over ' + h.player('alice', 'bob').url);
  h.check(/^http:\/\/.*\.flv\?/.test(h.player('bob', 'alice').url), 'bob plays alice over ' + h.player('bob', 'alice').url);
  await alice.waitEvent(ROOM.PLAYER_PLAY, "bob's picture", (d) => d.userID === 'bob');
  await bob.waitEvent(ROOM.PLAYER_PLAY, "alice's picture", (d) => d.userID === 'alice');
  h.check(alice.seen(ROOM.PLAYER_LOADING, (d) => d.userID === 'bob').length > 0, 'alice saw no PLAYER_LOADING for bob');

  // muted, set by the page, silences alice's tone at bob's side and
  // unmuting brings it back.
  alice.comp.setData({ muted: true });
  await h.waitFor("alice's tone to fall silent at bob's player", () => h.player('bob', 'alice').tone().freq === 0);
  alice.comp.setData({ muted: false });
  await h.waitPlaying('bob', 'alice', 440, { minFrames: bobSees.frames });
  console.log("alice's muted property silenced her tone at bob's player, and unmuting brought it back");

  // pause() holds alice's pusher and player, resume() lets them go on.
  alice.instance.pause();
  h.check(h.pusher('alice').paused && h.player('alice', 'bob').paused, 'pause() did not reach alice\'s pusher and player');
  alice.instance.resume();
  h.check(!h.pusher('alice').paused && !h.player('alice', 'bob').paused, 'resume() did not reach alice\'s pusher and player');
  await h.waitPlaying('bob', 'alice', 440, { minFrames: h.player('bob', 'alice').frames + 15 });

  // The properties reach the pusher as the native tag's attributes, the
  // record id its URL, and smallView* place alice's own picture.
  const bobPusher = h.pusher('bob');
  const want = { mode: 'RTC', aspect: '9:16', beauty: 7, whiteness: 3, minBitrate: 300, maxBitrate: 900, debug: true,
    muted: false, enableCamera: true, autopush: true };
  Object.keys(want).forEach((k) => h.check(bobPusher.comp.data[k] === want[k],
    "bob's pusher got " + k + ' = ' + bobPusher.comp.data[k] + ', want ' + want[k]));
  h.check(/[?&]recordid=42(&|$)/.test(h.pusher('alice').url), "alice's push URL has no recordid: " + h.pusher('alice').url);
  const small = alice.comp.querySelector('.self').dom.getAttribute('style') || '';
  h.check(['left:2vw', 'top:3vw', 'width:25vw', 'height:35vw'].every((p) => small.replace(/\s/g, '').indexOf(p) >= 0),
    "alice's small view is styled " + small);
  bob.instance.switchCamera();
  h.check(bobPusher.camera === 'back', 'switchCamera did not reach the pusher');

  // alice's /ws drops (a phone changing networks) and bob leaves meanwhile:
  // she follows the room again and her list loses him all the same. bob's
  // component says EXIT_ROOM and stops, and alice's player of him goes.
  const dropped = alice.instance.session.follower;
  dropped.task.drop();
  bob.instance.stop();
  await bob.waitEvent(ROOM.EXIT_ROOM, 'leaving');
  await h.waitFor('bob\'s pusher to stop', () => !h.pusher('bob'));
  await alice.waitEvent(ROOM.SUCC_MEMBERS_LIST, 'bob quitting', (d) => d.quit.indexOf('bob') >= 0 && d.members.length === 0);
  await h.waitFor("alice's player of bob to go", () => !h.player('alice', 'bob'));
  await h.waitFor('alice to follow the room again', () => alice.instance.session.follower !== dropped &&
    alice.instance.session.follower.task.ws.readyState === 1);
  alice.instance.stop();
  await alice.waitEvent(ROOM.EXIT_ROOM, 'leaving');
});
